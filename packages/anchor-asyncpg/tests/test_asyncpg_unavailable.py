"""PostgreSQL down, connections killed, pool exhausted, statement too slow: 503, then recovery.

Each test drives a FastAPI app through httpx's ASGI transport, so the app and the asyncpg pool
share one event loop. PostgreSQL is real; only this test's own connections are terminated.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from anchor_asyncpg import AsyncpgStore
from fastapi_anchor import Anchor
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.tokens import new_token

pytestmark = pytest.mark.anyio

SECRET = "test-secret-for-anchor-asyncpg-0123456789"


def build_app(store: AsyncpgStore) -> tuple[FastAPI, Anchor]:
    anchor = Anchor(store, secret_keys=SECRET)
    return session_app(anchor), anchor


@asynccontextmanager
async def client_for(store: AsyncpgStore) -> AsyncIterator[tuple[httpx.AsyncClient, Anchor]]:
    app, anchor = build_app(store)
    async with https_client(app) as client:
        yield client, anchor


async def logged_in(client: httpx.AsyncClient) -> None:
    assert (await client.post("/login")).status_code == 200
    assert (await client.get("/me")).status_code == 200


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"


async def backends(admin: asyncpg.Connection, application_name: str) -> list[asyncpg.Record]:
    return await admin.fetch(
        "SELECT pid, wait_event_type FROM pg_stat_activity WHERE application_name = $1",
        application_name,
    )


async def wait_until(check: Callable[[], Any], what: str, seconds: float = 5.0) -> None:
    """Poll `check` (async) every 10 ms until it is true; fail after `seconds`."""
    with anyio.move_on_after(seconds):
        while not await check():  # noqa: ASYNC110 (the condition lives in PostgreSQL)
            await anyio.sleep(0.01)
        return
    pytest.fail(f"gave up after {seconds} s waiting until {what}")


@pytest.fixture
def application_name() -> str:
    """Marks the app pool's backends in pg_stat_activity, so only they get terminated."""
    return f"anchor_asyncpg_test_{secrets.token_hex(4)}"


async def test_closed_port_answers_503_quickly(down_dsn: str) -> None:
    """Nothing listens at the DSN: login and an authenticated request both get 503 at once."""
    store = AsyncpgStore(down_dsn, timeout=2)
    try:
        async with client_for(store) as (client, anchor):
            client.cookies.set("session", anchor.signer.sign(new_token()))
            started = time.monotonic()
            assert_unavailable(await client.get("/me"))
            assert_unavailable(await client.post("/login"))
            assert time.monotonic() - started < 1.5  # refused, not timed out
    finally:
        await store.close()


async def test_store_recovers_when_postgres_comes_back(postgres_dsn: str) -> None:
    """A store whose server is not there yet answers 503; once it listens, 200, no restart.

    The port is bound but not listening (connections are refused); then a TCP relay to the
    real server starts listening on that same port.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        store = AsyncpgStore(
            relayed_dsn(postgres_dsn, port),
            timeout=2,
            table=f"anchor_sessions_{secrets.token_hex(4)}",
            pool_options={"min_size": 1, "max_size": 2},
        )
        try:
            async with client_for(store) as (client, anchor):
                client.cookies.set("session", anchor.signer.sign(new_token()))
                assert_unavailable(await client.get("/me"))
                assert_unavailable(await client.post("/login"))
                relay = await asyncio.start_server(relay_to(postgres_dsn), sock=sock)
                try:
                    await store.create_table()
                    client.cookies.clear()
                    await logged_in(client)
                    assert store.pool is not None
                    await store.pool.execute(f"DROP TABLE {store.table}")
                finally:
                    await store.close()  # before the relay, which waits for its connections
                    relay.close()
                    await relay.wait_closed()
        finally:
            await store.close()


async def test_killed_connections_answer_503_or_200_then_200(
    make_pool: Callable[..., Any],
    store_on: Callable[..., Any],
    pg_admin: asyncpg.Connection,
    kill_backends: Callable[[str], Any],
    application_name: str,
) -> None:
    """pg_terminate_backend on every connection of the app's pool: the app carries on."""
    settings = {"application_name": application_name}
    async with (
        make_pool(min_size=2, max_size=2, server_settings=settings) as pool,
        store_on(pool) as store,
        client_for(store) as (client, _anchor),
    ):
        await logged_in(client)
        before = {row["pid"] for row in await backends(pg_admin, application_name)}
        assert before
        await kill_backends(application_name)

        async def all_gone() -> bool:
            return not before & {row["pid"] for row in await backends(pg_admin, application_name)}

        await wait_until(all_gone, "the terminated backends are gone")
        first = await client.get("/me")
        assert first.status_code in (200, 503), first.text
        for _ in range(3):
            assert (await client.get("/me")).status_code == 200
        after = {row["pid"] for row in await backends(pg_admin, application_name)}
        assert after
        assert not after & before  # new connections replaced the killed ones


async def test_connection_lost_mid_statement_answers_503_then_recovers(
    make_pool: Callable[..., Any],
    store_on: Callable[..., Any],
    pg_admin: asyncpg.Connection,
    kill_backends: Callable[[str], Any],
    application_name: str,
) -> None:
    """The backend serving the request is terminated while the SELECT waits: 503, then 200."""
    settings = {"application_name": application_name}
    async with (
        make_pool(min_size=1, max_size=1, server_settings=settings) as pool,
        store_on(pool) as store,
        client_for(store) as (client, _anchor),
    ):
        await logged_in(client)
        async with pg_admin.transaction():
            await pg_admin.execute(f"LOCK TABLE {store.table} IN ACCESS EXCLUSIVE MODE")
            async with anyio.create_task_group() as group:
                responses: list[httpx.Response] = []

                async def request() -> None:
                    responses.append(await client.get("/me"))

                group.start_soon(request)

                async def blocked() -> bool:
                    rows = await backends(pg_admin, application_name)
                    return any(row["wait_event_type"] == "Lock" for row in rows)

                await wait_until(blocked, "the SELECT waits on the lock")
                await kill_backends(application_name)
        assert_unavailable(responses[0])
        assert (await client.get("/me")).status_code == 200


async def test_slow_statement_answers_503_then_recovers(
    pool: asyncpg.Pool, store_on: Callable[..., Any], pg_admin: asyncpg.Connection
) -> None:
    """A SELECT past the timeout is cancelled: 503 in about that time, then 200."""
    async with store_on(pool, timeout=0.3) as store, client_for(store) as (client, _):
        await logged_in(client)
        async with pg_admin.transaction():
            await pg_admin.execute(f"LOCK TABLE {store.table} IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            response = await client.get("/me")
            elapsed = time.monotonic() - started
        assert_unavailable(response)
        assert 0.3 <= elapsed < 3
        for _ in range(3):
            assert (await client.get("/me")).status_code == 200


async def test_exhausted_pool_answers_503_then_recovers(
    make_pool: Callable[..., Any], store_on: Callable[..., Any]
) -> None:
    """No connection frees up within the timeout: 503 quickly, then 200 once one does."""
    async with (
        make_pool(min_size=1, max_size=1) as pool,
        store_on(pool, timeout=0.2) as store,
        client_for(store) as (client, _anchor),
    ):
        await logged_in(client)
        held = await pool.acquire()
        try:
            started = time.monotonic()
            assert_unavailable(await client.get("/me"))
            assert time.monotonic() - started < 2
        finally:
            await pool.release(held)
        assert (await client.get("/me")).status_code == 200


def relayed_dsn(dsn: str, port: int) -> str:
    """`dsn` pointed at 127.0.0.1:`port` instead of its own server."""
    parts = urlsplit(dsn)
    user = parts.username or "postgres"
    if parts.password:
        user = f"{user}:{parts.password}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("host", "port")])
    return urlunsplit((parts.scheme, f"{user}@127.0.0.1:{port}", parts.path, query, ""))


def relay_to(dsn: str) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    """A `start_server` handler that pipes each client to the server of `dsn` (TCP or socket)."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    port = parts.port or int(query.get("port", 5432))

    async def open_upstream() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if parts.hostname:
            return await asyncio.open_connection(parts.hostname, port)
        return await asyncio.open_unix_connection(f"{query['host']}/.s.PGSQL.{port}")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await open_upstream()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return handle
