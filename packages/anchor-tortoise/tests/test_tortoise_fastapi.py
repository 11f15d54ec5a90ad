"""A FastAPI app on Tortoise's `RegisterTortoise` lifespan, with `TortoiseStore` sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
import tortoise.context
from fastapi import FastAPI
from tortoise.contrib.fastapi import RegisterTortoise

from anchor_tortoise import TortoiseStore, skip_reset
from fastapi_anchor import Anchor, new_token
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, quote_table

pytestmark = pytest.mark.anyio

SECRET = "tortoise-test-secret-key-0123456789abcdef"


def build_app(credentials: dict[str, Any], *, generate_schemas: bool) -> tuple[FastAPI, Anchor]:
    """Tortoise configured as a user does it, with the default model module, under the
    session routes of `fastapi_anchor.testing.session_app`."""
    config = {
        "connections": {
            "default": {"engine": "tortoise.backends.asyncpg", "credentials": credentials}
        },
        "apps": {"models": {"models": ["anchor_tortoise.models"]}},
    }
    anchor = Anchor(TortoiseStore(), secret_keys=SECRET)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config, generate_schemas=generate_schemas):
            yield

    return session_app(anchor, lifespan=lifespan), anchor


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give a client on the same event loop."""
    async with app.router.lifespan_context(app), https_client(app) as client:
        yield client
    # RegisterTortoise's shutdown closed the pool and released the global context.
    assert tortoise.context._global_context is None


@pytest.fixture
async def app_schema(
    pg_admin: asyncpg.Connection, new_schema: Callable[[str], Awaitable[str]]
) -> tuple[str, Any]:
    """A fresh schema the app's connections use as search_path, and an admin connection."""
    return await new_schema("anchor_tortoise_app"), pg_admin


async def test_login_me_logout_and_replay(
    app_schema: tuple[str, Any], tortoise_credentials: dict[str, Any]
) -> None:
    schema, admin = app_schema
    app, anchor = build_app({**tortoise_credentials, "schema": schema}, generate_schemas=True)
    table = quote_table(DEFAULT_TABLE_NAME, schema)
    async with serving(app) as client:
        assert (await client.get("/me")).status_code == 401

        login = await client.post("/login", params={"user": "alice"})
        assert login.status_code == 200
        cookie = client.cookies[anchor.cookie.name]
        assert await admin.fetchval(f"SELECT count(*) FROM {table}") == 1

        me = await client.get("/me")
        assert me.status_code == 200
        assert me.json() == {"user": "alice", "data": {"role": "reader"}}

        assert (await client.post("/logout")).status_code == 200
        assert await admin.fetchval(f"SELECT count(*) FROM {table}") == 0
        assert (await client.get("/me")).status_code == 401

        replay = await client.get("/me", headers={"cookie": f"{anchor.cookie.name}={cookie}"})
        assert replay.status_code == 401
        assert (await client.post("/logout")).status_code == 200  # twice: no error


async def test_store_down_is_503_never_401(
    tortoise_credentials: dict[str, Any], closed_port: int
) -> None:
    credentials = {**tortoise_credentials, "host": "127.0.0.1", "port": closed_port, "timeout": 2}
    app, anchor = build_app(credentials, generate_schemas=False)
    forged = f"{anchor.cookie.name}={anchor.signer.sign(new_token())}"
    async with serving(app) as client:
        login = await client.post("/login", params={"user": "alice"})
        assert login.status_code == 503
        assert login.headers["retry-after"] == "1"
        me = await client.get("/me", headers={"cookie": forged})
        assert me.status_code == 503
        assert me.headers["retry-after"] == "1"


class Statements:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def init(self, connection: Any) -> None:
        connection.add_query_logger(lambda record: self.seen.append(record.query))


@pytest.mark.parametrize(("reset", "expected"), [(None, 2), (skip_reset, 1)])
async def test_statements_per_authenticated_request(
    app_schema: tuple[str, Any],
    tortoise_credentials: dict[str, Any],
    reset: Any,
    expected: int,
) -> None:
    """A warm GET on a session route: one SELECT by primary key, plus asyncpg's reset query
    unless `reset` is the no-op `skip_reset`. No writes, no transaction statements."""
    schema, _ = app_schema
    statements = Statements()
    credentials = {**tortoise_credentials, "schema": schema, "init": statements.init}
    if reset is not None:
        credentials["reset"] = reset
    app, _ = build_app(credentials, generate_schemas=True)
    async with serving(app) as client:
        assert (await client.post("/login", params={"user": "alice"})).status_code == 200
        assert (await client.get("/me")).status_code == 200  # warm
        statements.seen.clear()
        for _ in range(5):
            assert (await client.get("/me")).status_code == 200
        sent = statements.seen
    assert len(sent) == 5 * expected
    selects = [s for s in sent if s.startswith("SELECT ") and "pg_advisory_unlock_all" not in s]
    assert len(selects) == 5
    assert all(s.rstrip().endswith('WHERE "id"=$1') for s in selects)
    assert not [s for s in sent if s.split()[0] in ("INSERT", "UPDATE", "DELETE", "BEGIN")]
