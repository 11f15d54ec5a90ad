"""`Anchor` on `SQLAlchemyStore` over HTTP: real logout, 503 while the database is away."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore
from fastapi_anchor import Anchor
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.tokens import new_token

pytestmark = pytest.mark.anyio

SECRET = "sqlalchemy-test-secret-0123456789abcdef"


def build_app(anchor: Anchor) -> FastAPI:
    return session_app(anchor, login_data={"via": "sqlalchemy"})


@pytest.fixture
async def named_engine(pg_url: str) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """An engine whose connections carry an application_name of their own, to find them."""
    name = f"anchor-sa-{secrets.token_hex(4)}"
    engine = create_async_engine(
        pg_url, connect_args={"server_settings": {"application_name": name}}
    )
    try:
        yield engine, name
    finally:
        await engine.dispose()


async def test_login_me_logout_and_the_old_cookie_is_refused(
    pg_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> None:
    async with fresh_store(pg_engine) as store:
        anchor = Anchor(store, secret_keys=SECRET)
        async with https_client(build_app(anchor)) as client:
            assert (await client.post("/login", params={"user": "alice"})).status_code == 200
            old = client.cookies["session"]
            me = await client.get("/me")
            assert me.status_code == 200
            assert me.json() == {"user": "alice", "data": {"via": "sqlalchemy"}}
            [stored] = await store.list_user("alice")
            assert old.split(".")[0] not in stored.id  # the table holds a hash, not the token
            assert (await client.post("/logout")).status_code == 200
            client.cookies.clear()
            replay = await client.get("/me", headers={"cookie": f"session={old}"})
            assert replay.status_code == 401
            assert await store.list_user("alice") == []


async def test_a_database_that_does_not_answer_is_503_not_401(closed_port: int) -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/db")
    anchor = Anchor(SQLAlchemyStore(engine), secret_keys=SECRET, retry_after=3)
    try:
        async with https_client(build_app(anchor)) as client:
            login = await client.post("/login", params={"user": "alice"})
            assert login.status_code == 503
            assert login.headers["retry-after"] == "3"
            assert "set-cookie" not in login.headers
            cookie = f"session={anchor.signer.sign(new_token())}"
            me = await client.get("/me", headers={"cookie": cookie})
            assert me.status_code == 503
            assert me.headers["retry-after"] == "3"
    finally:
        await engine.dispose()


async def test_a_killed_pooled_connection_is_replaced_without_an_error(
    named_engine: tuple[AsyncEngine, str],
    kill_backends: Callable[[str], Any],
    fresh_store: Callable[..., Any],
) -> None:
    """One dead connection in the pool: the read retries on a fresh one, the user sees 200."""
    engine, name = named_engine
    async with fresh_store(engine) as store:
        anchor = Anchor(store, secret_keys=SECRET)
        async with https_client(build_app(anchor)) as client:
            assert (await client.post("/login", params={"user": "bob"})).status_code == 200
            assert (await client.get("/me")).status_code == 200
            assert engine.sync_engine.pool.checkedin() == 1
            assert await kill_backends(name) == 1
            after = await client.get("/me")
            assert after.status_code == 200
            assert after.json()["user"] == "bob"


async def test_killed_connections_give_503_then_the_app_recovers_by_itself(
    named_engine: tuple[AsyncEngine, str],
    kill_backends: Callable[[str], Any],
    fresh_store: Callable[..., Any],
) -> None:
    """Every pooled connection dead (a database restart): one 503, then 200, no app restart."""
    engine, name = named_engine
    async with fresh_store(engine) as store:
        anchor = Anchor(store, secret_keys=SECRET)
        async with https_client(build_app(anchor)) as client:
            assert (await client.post("/login", params={"user": "bob"})).status_code == 200
            async with anyio.create_task_group() as group:  # fill the pool with connections
                for _ in range(4):
                    group.start_soon(client.get, "/me")
            assert engine.sync_engine.pool.checkedin() >= 2
            assert await kill_backends(name) >= 2

            during = await client.get("/me")
            assert during.status_code == 503
            assert during.headers["retry-after"] == "1"
            # No restart: the pool drops the dead connections and opens new ones.
            after = await client.get("/me")
            assert after.status_code == 200
            assert after.json()["user"] == "bob"


async def test_with_a_statement_listener_reads_take_the_connection_path(
    named_engine: tuple[AsyncEngine, str],
    kill_backends: Callable[[str], Any],
    fresh_store: Callable[..., Any],
) -> None:
    """Tracing hooks see the hot SELECT; a killed connection is then 503 once, then 200."""
    engine, name = named_engine
    seen: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: seen.append(statement),
    )
    async with fresh_store(engine) as store:
        anchor = Anchor(store, secret_keys=SECRET)
        async with https_client(build_app(anchor)) as client:
            assert (await client.post("/login", params={"user": "bob"})).status_code == 200
            seen.clear()
            assert (await client.get("/me")).status_code == 200
            [statement] = seen
            assert statement.startswith("SELECT")
            assert await kill_backends(name) >= 1
            assert (await client.get("/me")).status_code == 503
            assert (await client.get("/me")).status_code == 200
