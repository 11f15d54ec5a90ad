"""The change feed and the session cache on PostgreSQL: two workers (two `Anchor`s with their
own pools, feeds and caches) share one table; a logout on one is refused at once on the other,
whatever the cache held, and a lost feed connection serves nothing stale."""

# No `from __future__ import annotations`: FastAPI must see the routes' `Depends`.

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import asyncpg
import httpx
import pytest
from fastapi import Depends, FastAPI, Response, WebSocket, WebSocketDisconnect
from fastapi.testclient import TestClient

from anchor_asyncpg import AsyncpgStore
from fastapi_anchor import Anchor, SessionRecord
from fastapi_anchor.cache import SessionCache
from fastapi_anchor.feed import ChangeFeed

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

SECRET = "cache-feed-secret-0123456789-abcdefghij"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def create_table(dsn: str) -> str:
    name = f"anchor_cache_{secrets.token_hex(4)}"
    async with AsyncpgStore(dsn, table=name) as store:
        await store.create_table()
    return name


async def drop_table(dsn: str, name: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP TABLE IF EXISTS "{name}"')
        await conn.execute(f'DROP FUNCTION IF EXISTS "{name}_notify"()')
    finally:
        await conn.close()


@pytest.fixture
async def table(postgres_dsn: str) -> AsyncIterator[str]:
    """A sessions table of this test's own, so no other test's notifications reach it."""
    name = await create_table(postgres_dsn)
    yield name
    await drop_table(postgres_dsn, name)


@pytest.fixture
def sync_table(postgres_dsn: str) -> Iterator[str]:
    """`table` for a test that is not async (a TestClient runs its own event loop)."""
    name = asyncio.run(create_table(postgres_dsn))
    yield name
    asyncio.run(drop_table(postgres_dsn, name))


class GatedStore(AsyncpgStore):
    """An AsyncpgStore whose `get` can be held after it has read, before it returns."""

    gate: asyncio.Event | None = None
    read_done: asyncio.Event | None = None

    async def get(self, session_id: str) -> SessionRecord | None:
        record = await super().get(session_id)
        if self.gate is not None and self.read_done is not None:
            self.read_done.set()
            await self.gate.wait()
        return record


@dataclass
class Worker:
    anchor: Anchor
    client: httpx.AsyncClient

    async def status(self, cookie: str) -> int:
        response = await self.client.get("/me", headers={"cookie": f"session={cookie}"})
        return response.status_code


def app_of(anchor: Anchor) -> FastAPI:
    app = FastAPI()
    current = Annotated[SessionRecord, Depends(anchor.session)]

    @app.post("/login")
    async def login(response: Response) -> dict[str, bool]:
        await anchor.login(response, "alice")
        return {"ok": True}

    @app.get("/me")
    async def me(session: current) -> dict[str, str]:
        return {"user": session.user_id}

    @app.post("/logout")
    async def logout(response: Response, session: current) -> dict[str, bool]:
        await anchor.logout(response, session)
        return {"ok": True}

    @app.get("/sensitive")
    async def sensitive(
        session: Annotated[SessionRecord, Depends(anchor.recent_session(timedelta(hours=1)))],
    ) -> dict[str, str]:
        return {"user": session.user_id}

    @app.websocket("/live")
    async def live(
        websocket: WebSocket,
        session: Annotated[SessionRecord, Depends(anchor.websocket_session)],
    ) -> None:
        await websocket.accept()
        try:
            while True:
                await websocket.receive_text()
                await websocket.send_text(session.user_id)
        except WebSocketDisconnect:
            pass

    return app


@asynccontextmanager
async def worker(
    dsn: str,
    table: str,
    *,
    cached: bool = True,
    store_type: type[AsyncpgStore] = AsyncpgStore,
    name: str = "worker",
) -> AsyncIterator[Worker]:
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(store_type(dsn, table=table))
        feed = ChangeFeed(dsn, table=table, ping_interval=0.5, application_name=f"feed {name}")
        await stack.enter_async_context(feed)
        cache = SessionCache(max_entries=100, max_age=timedelta(minutes=5)) if cached else None
        anchor = Anchor(store, secret_keys=SECRET, feed=feed, cache=cache)
        transport = httpx.ASGITransport(app=app_of(anchor))
        client = httpx.AsyncClient(transport=transport, base_url="https://testserver")
        await stack.enter_async_context(client)
        assert feed.connected
        yield Worker(anchor, client)


async def login(worker: Worker) -> str:
    response = await worker.client.post("/login")
    assert response.status_code == 200
    cookie = worker.client.cookies["session"]
    worker.client.cookies.clear()
    return cookie


async def until(condition: Callable[[], bool], within: float = 5.0) -> float:
    """Wait until `condition()` holds; return how long it took, in seconds."""
    started = time.perf_counter()
    while not condition():
        assert time.perf_counter() - started < within, "condition not met in time"
        await asyncio.sleep(0.001)
    return time.perf_counter() - started


async def test_a_logout_on_one_worker_is_refused_at_once_on_the_other(
    postgres_dsn: str, table: str
) -> None:
    async with worker(postgres_dsn, table) as a, worker(postgres_dsn, table) as b:
        cookie = await login(a)
        assert await b.status(cookie) == 200  # read from the store, cached
        assert await b.status(cookie) == 200  # served from the cache
        assert b.anchor.cache is not None
        assert b.anchor.cache.hits == 1
        assert len(b.anchor.cache) == 1

        logout = await a.client.post("/logout", headers={"cookie": f"session={cookie}"})
        assert logout.status_code == 200
        await until(lambda: len(b.anchor.cache) == 0)  # type: ignore[arg-type]
        assert await b.status(cookie) == 401
        assert await a.status(cookie) == 401


async def test_a_read_racing_a_logout_never_caches_the_ended_session(
    postgres_dsn: str, table: str
) -> None:
    async with (
        worker(postgres_dsn, table) as a,
        worker(postgres_dsn, table, store_type=GatedStore) as b,
    ):
        cookie = await login(a)
        store = b.anchor.store
        assert isinstance(store, GatedStore)
        store.gate, store.read_done = asyncio.Event(), asyncio.Event()
        slow = asyncio.create_task(b.status(cookie))
        await store.read_done.wait()  # b has read the live session, not yet cached it
        cache = b.anchor.cache
        assert cache is not None
        generation = cache.generation()
        ended = await a.client.post("/logout", headers={"cookie": f"session={cookie}"})
        assert ended.status_code == 200
        await until(lambda: cache.generation() > generation)  # the announcement arrived
        store.gate.set()
        assert await slow == 200  # it was live when read
        store.gate = store.read_done = None
        assert len(cache) == 0, "the stale read was cached"
        assert await b.status(cookie) == 401


async def test_a_lost_feed_connection_serves_nothing_stale_and_recovers(
    postgres_dsn: str, table: str, kill_backends: Callable[[str], Awaitable[int]]
) -> None:
    async with worker(postgres_dsn, table) as a, worker(postgres_dsn, table, name="b") as b:
        feed, cache = b.anchor.feed, b.anchor.cache
        assert feed is not None
        assert cache is not None
        cookie = await login(a)
        for _ in range(2):
            assert await b.status(cookie) == 200
        assert len(cache) == 1

        killed = await kill_backends("feed b")
        assert killed >= 1
        await until(lambda: not feed.connected)
        assert not cache.active
        assert len(cache) == 0
        # During the outage nothing is cached, so a logout elsewhere is seen at once.
        await a.client.post("/logout", headers={"cookie": f"session={cookie}"})
        assert await b.status(cookie) == 401

        await until(lambda: feed.connected)
        assert cache.active
        fresh = await login(a)
        hits = cache.hits
        for _ in range(3):
            assert await b.status(fresh) == 200
        assert cache.hits == hits + 2
        assert feed.reconnections >= 1


async def test_sensitive_routes_read_the_store(postgres_dsn: str, table: str) -> None:
    async with worker(postgres_dsn, table) as a:
        cookie = await login(a)
        headers = {"cookie": f"session={cookie}"}
        cache = a.anchor.cache
        assert cache is not None
        assert (await a.client.get("/me", headers=headers)).status_code == 200
        hits = cache.hits
        for _ in range(3):
            assert (await a.client.get("/sensitive", headers=headers)).status_code == 200
        assert cache.hits == hits


async def test_a_feed_that_cannot_connect_leaves_the_cache_off(closed_port: int) -> None:
    feed = ChangeFeed(f"postgresql://root@127.0.0.1:{closed_port}/test", backoff=(0.01, 0.05))
    cache = SessionCache()
    feed.subscribe(cache)
    async with feed:
        assert not feed.connected
        await asyncio.sleep(0.2)
        assert feed.reconnections >= 2
        assert not cache.active


@pytest.fixture
def socket_worker(postgres_dsn: str, sync_table: str) -> Iterator[tuple[TestClient, Anchor]]:
    """Worker B served by a TestClient (for its socket), its feed started by the lifespan."""
    store = AsyncpgStore(postgres_dsn, table=sync_table)
    feed = ChangeFeed(postgres_dsn, table=sync_table, ping_interval=0.5)
    anchor = Anchor(store, secret_keys=SECRET, feed=feed)
    app = app_of(anchor)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with store, feed:
            yield

    app.router.lifespan_context = lifespan
    with TestClient(app, base_url="https://testserver") as client:
        yield client, anchor


def test_a_logout_on_another_worker_closes_the_socket(
    postgres_dsn: str, sync_table: str, socket_worker: tuple[TestClient, Anchor]
) -> None:
    client, anchor = socket_worker
    assert anchor.feed is not None
    assert anchor.feed.connected
    cookie = client.post("/login").cookies["session"]
    client.cookies.clear()
    headers = {"cookie": f"session={cookie}", "origin": "https://testserver"}
    with client.websocket_connect("wss://testserver/live", headers=headers) as socket:
        socket.send_text("hello")
        assert socket.receive_text() == "alice"

        async def logout_elsewhere() -> None:
            async with worker(postgres_dsn, sync_table, cached=False) as a:
                ended = await a.client.post("/logout", headers={"cookie": f"session={cookie}"})
                assert ended.status_code == 200

        asyncio.run(logout_elsewhere())
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
        assert (closed.value.code, closed.value.reason) == (1008, "Session ended")


def test_a_cache_without_a_feed_is_refused() -> None:
    from fastapi_anchor import ConfigurationError, MemoryStore

    with pytest.raises(ConfigurationError, match="needs a ChangeFeed"):
        Anchor(MemoryStore(), secret_keys=SECRET, cache=SessionCache())
