"""The store's calls queue in front of the pool (`PoolGate`); the store's time limit bounds
every wait, for the gate or for the pool."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from anchor_sqlalchemy.gate import PoolGate
from fastapi_anchor import Anchor
from fastapi_anchor.store import SessionRecord, StoreUnavailable
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.tokens import hash_token, new_token

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def test_the_gate_takes_the_pools_bound() -> None:
    engine = create_async_engine(
        "postgresql+asyncpg://u@localhost/db", pool_size=4, max_overflow=3, pool_timeout=7
    )
    gate = PoolGate.for_engine(engine.sync_engine)
    assert gate is not None
    assert gate.capacity == 7


@pytest.mark.parametrize(
    "options",
    [{"poolclass": NullPool}, {"pool_size": 4, "max_overflow": -1}, {"pool_timeout": 0}],
    ids=["no pool", "unbounded overflow", "no wait"],
)
def test_no_gate_where_the_pool_sets_no_bound(options: dict[str, Any]) -> None:
    engine = create_async_engine("postgresql+asyncpg://u@localhost/db", **options)
    assert PoolGate.for_engine(engine.sync_engine) is None


@pytest.mark.anyio
async def test_calls_beyond_the_pool_wait_their_turn(
    pg_url: str, postgres_dsn: str, fresh_store: Callable[..., Any]
) -> None:
    """Three reads on a pool of two: the third queues at the gate and is served once a
    connection comes back, within the store's time limit."""
    engine = create_async_engine(pg_url, pool_size=2, max_overflow=0)
    try:
        async with fresh_store(engine, timeout=10) as store:
            record = SessionRecord(hash_token(new_token()), "alice", T0, T0 + timedelta(1), {})
            await store.create(record)
            results: list[Any] = []

            async def read() -> None:
                results.append(await store.get(record.id))

            locker = await asyncpg.connect(postgres_dsn)  # outside the pool: it blocks reads
            try:
                with anyio.fail_after(10):
                    async with anyio.create_task_group() as group:
                        lock = locker.transaction()
                        await lock.start()
                        await locker.execute(
                            f"LOCK TABLE {store.table.name} IN ACCESS EXCLUSIVE MODE"
                        )
                        for _ in range(3):  # two take the pool's connections, one waits
                            group.start_soon(read)
                        await anyio.sleep(0.3)
                        assert results == []
                        await lock.rollback()  # the admitted reads finish, then the third
            finally:
                await locker.close()
            assert results == [record, record, record]
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_an_exhausted_pool_answers_503_within_the_stores_time_limit(
    pg_url: str, fresh_store: Callable[..., Any]
) -> None:
    """The application holds the pool's only connection: the store does not wait the pool's
    30 s `pool_timeout` but its own `timeout`, and the app answers 503."""
    engine = create_async_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        async with fresh_store(engine, timeout=0.5) as store:
            anchor = Anchor(store, secret_keys=secrets.token_urlsafe(32))
            async with https_client(session_app(anchor)) as client:
                assert (await client.post("/login")).status_code == 200
                async with engine.connect():  # the only connection, held elsewhere
                    started = time.monotonic()
                    with pytest.raises(StoreUnavailable):
                        await store.get(hash_token(new_token()))
                    answer = await client.get("/me")
                    assert time.monotonic() - started < 5
                    assert answer.status_code == 503
                    assert answer.headers["retry-after"] == "1"
                assert (await client.get("/me")).status_code == 200  # recovered once released
    finally:
        await engine.dispose()
