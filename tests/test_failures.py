"""Failures and races on a real PostgreSQL (through anchor-asyncpg): 503 never 401, no loss."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from anchor_asyncpg import AsyncpgStore
from fastapi_anchor import Anchor
from fastapi_anchor.testing import https_client, session_app

from tcp_relay import Relay

pytestmark = pytest.mark.anyio

SECRET = secrets.token_urlsafe(32)
TIMEOUT = 2.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def table(postgres_dsn: str) -> AsyncIterator[str]:
    name = f"anchor_failures_{secrets.token_hex(4)}"
    store = AsyncpgStore(postgres_dsn, table=name)
    await store.create_table()
    await store.close()
    yield name
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    finally:
        await conn.close()


async def test_outage_answers_503_quickly_then_recovers_without_losing_the_session(
    postgres_dsn: str, table: str
) -> None:
    relay = Relay(postgres_dsn)
    await relay.start()
    store = AsyncpgStore(relay.dsn, table=table, timeout=TIMEOUT)
    anchor = Anchor(store, secret_keys=SECRET, retry_after=3)
    try:
        async with https_client(session_app(anchor)) as client:
            assert (await client.post("/login", params={"user": "alice"})).status_code == 200
            assert (await client.get("/me")).json()["user"] == "alice"

            await relay.cut()
            for _ in range(3):
                started = time.monotonic()
                response = await client.get("/me")
                assert response.status_code == 503, response.text  # never 401, never 200
                assert response.headers["retry-after"] == "3"
                assert time.monotonic() - started < TIMEOUT + 1
            assert (await client.post("/login", params={"user": "bob"})).status_code == 503

            await relay.start()
            statuses = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                statuses.append((await client.get("/me")).status_code)
                if statuses[-1] == 200:
                    break
                await asyncio.sleep(0.05)
            assert statuses[-1] == 200, statuses  # the same cookie: no session lost
            assert 401 not in statuses
            assert (await client.get("/me")).json()["user"] == "alice"
    finally:
        await store.close()
        await relay.cut()


async def test_concurrent_refreshes_and_a_logout_never_leave_the_session_alive(
    postgres_dsn: str, table: str
) -> None:
    clock = Clock()
    store = AsyncpgStore(postgres_dsn, table=table, pool_options={"min_size": 2, "max_size": 8})
    anchor = Anchor(store, secret_keys=SECRET, idle_timeout=timedelta(hours=2), clock=clock)
    try:
        async with https_client(session_app(anchor)) as client:
            for _ in range(15):
                client.cookies.clear()
                await client.post("/login", params={"user": "alice"})
                cookie = {"cookie": f"session={client.cookies['session']}"}
                client.cookies.clear()
                clock.now += timedelta(hours=1, minutes=1)  # every /me now wants to refresh
                results = await asyncio.gather(
                    *(client.get("/me", headers=cookie) for _ in range(8)),
                    client.post("/logout", headers=cookie),
                    *(client.get("/me", headers=cookie) for _ in range(8)),
                )
                assert {r.status_code for r in results} <= {200, 401}
                assert (await client.get("/me", headers=cookie)).status_code == 401
        assert await store.list_user("alice") == []
    finally:
        await store.close()


async def test_concurrent_logins_of_one_user_get_distinct_sessions(
    postgres_dsn: str, table: str
) -> None:
    store = AsyncpgStore(postgres_dsn, table=table, pool_options={"min_size": 2, "max_size": 8})
    anchor = Anchor(store, secret_keys=SECRET)
    try:
        async with https_client(session_app(anchor)) as client:
            responses = await asyncio.gather(
                *(client.post("/login", params={"user": "alice"}) for _ in range(40))
            )
        cookies = {r.cookies["session"] for r in responses}
        ids = {r.json()["session_id"] for r in responses}
        assert len(cookies) == len(ids) == 40
        assert {r.id for r in await store.list_user("alice")} == ids
    finally:
        await store.close()
