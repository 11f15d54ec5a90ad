"""A FastAPI app on `PiccoloStore`: login, /me, logout, replay; and the database going away."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from fastapi import FastAPI
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore, skip_reset
from fastapi_anchor import Anchor, new_token
from fastapi_anchor.testing import https_client, session_app

from required import missing

pytestmark = pytest.mark.anyio

SECRET = "piccolo-test-secret-" + "x" * 32


def build_app(store: PiccoloStore) -> tuple[FastAPI, Anchor]:
    anchor = Anchor(store, secret_keys=SECRET, retry_after=3)
    return session_app(anchor), anchor


async def test_login_me_logout_and_replay(new_store: Callable[..., Any]) -> None:
    async with new_store() as store, https_client(build_app(store)[0]) as client:
        assert (await client.get("/me")).status_code == 401
        login = await client.post("/login", params={"user": "zoë"})
        assert login.status_code == 200
        cookie = client.cookies["session"]
        me = await client.get("/me")
        assert (me.status_code, me.json()) == (200, {"user": "zoë", "data": {"role": "reader"}})
        assert len(await store.list_user("zoë")) == 1
        assert (await client.post("/logout")).status_code == 200
        assert "session" not in client.cookies
        assert await store.list_user("zoë") == []
        client.cookies.set("session", cookie)  # the old cookie, replayed
        assert (await client.get("/me")).status_code == 401
        assert (await client.post("/logout")).status_code == 200  # logging out twice is fine


async def test_store_down_is_503_with_retry_after(down_engine: PostgresEngine) -> None:
    """A database that refuses connections gives 503 on login and on a signed cookie."""
    app, anchor = build_app(PiccoloStore(down_engine))
    async with https_client(app) as client:
        login = await client.post("/login")
        assert (login.status_code, login.headers["retry-after"]) == (503, "3")
        assert "set-cookie" not in login.headers
        signed = anchor.signer.sign(new_token())
        client.cookies.set("session", signed)
        me = await client.get("/me")
        assert (me.status_code, me.headers["retry-after"]) == (503, "3")


class Proxy:
    """A TCP relay to PostgreSQL that can be cut (every connection closed) and restored."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self, port: int) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer)),
            asyncio.ensure_future(self._pump(up_reader, writer)),
        ]
        self.tasks.update(pumps)
        await asyncio.gather(*pumps, return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
            self.writers.discard(writer)


@pytest.fixture
def proxied(
    postgres_dsn: str, make_engine: Callable[..., PostgresEngine]
) -> Iterator[tuple[Proxy, int, PostgresEngine]]:
    """A proxy (not yet listening), its port, and an engine that connects through it."""
    if not urlsplit(postgres_dsn).hostname:
        missing("a TCP test database", "the proxy relays TCP; this one is on a unix socket")
    with anyio.from_thread.start_blocking_portal() as portal:
        port = portal.call(_free_port)
    parts = urlsplit(postgres_dsn)
    dsn = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}").geturl()
    # Built while nothing listens: Piccolo's version check fails fast (and warns, silenced).
    yield Proxy(postgres_dsn), port, make_engine(dsn)


async def _free_port() -> int:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = int(listener.extra(anyio.abc.SocketAttribute.local_port))
    await listener.aclose()
    return port


async def test_database_outage_is_503_then_recovers(
    proxied: tuple[Proxy, int, PostgresEngine], start_pool: Callable[..., Any]
) -> None:
    """Cut the database mid-session: 503 (never 401); restore it: the same cookie works."""
    proxy, port, engine = proxied
    await proxy.start(port)
    try:
        async with start_pool(engine, min_size=1, max_size=2, reset=skip_reset):
            store = PiccoloStore(engine, table=f"anchor_sessions_{secrets.token_hex(4)}")
            await store.create_table()
            try:
                async with https_client(build_app(store)[0]) as client:
                    assert (await client.post("/login")).status_code == 200
                    assert (await client.get("/me")).status_code == 200

                    await proxy.cut()
                    for _ in range(3):
                        down = await client.get("/me")
                        assert (down.status_code, down.headers["retry-after"]) == (503, "3")
                    assert (await client.post("/login", params={"user": "bob"})).status_code == 503

                    await proxy.start(port)
                    statuses = []
                    with anyio.fail_after(5):  # bounded: the pool reconnects on the next call
                        while not statuses or statuses[-1] != 200:
                            statuses.append((await client.get("/me")).status_code)
                    assert set(statuses) <= {200, 503}, statuses
                    assert (await client.get("/me")).json()["user"] == "alice"
            finally:
                await store.table.alter().drop_table(if_exists=True)
    finally:
        if proxy.server is not None:
            await proxy.cut()
