"""The store's calls queue in front of the pool (`PoolGate`), with the pool's bound and timeout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from anchor_sqlalchemy.gate import PoolGate
from fastapi_anchor.store import SessionRecord, StoreUnavailable
from fastapi_anchor.tokens import hash_token, new_token

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def test_the_gate_takes_the_pools_bound_and_timeout() -> None:
    engine = create_async_engine(
        "postgresql+asyncpg://u@localhost/db", pool_size=4, max_overflow=3, pool_timeout=7
    )
    gate = PoolGate.for_engine(engine.sync_engine)
    assert gate is not None
    assert (gate.capacity, gate.timeout) == (7, 7)


@pytest.mark.parametrize(
    "options",
    [{"poolclass": NullPool}, {"pool_size": 4, "max_overflow": -1}, {"pool_timeout": 0}],
    ids=["no pool", "unbounded overflow", "no wait"],
)
def test_no_gate_where_the_pool_sets_no_bound(options: dict[str, Any]) -> None:
    engine = create_async_engine("postgresql+asyncpg://u@localhost/db", **options)
    assert PoolGate.for_engine(engine.sync_engine) is None


@pytest.mark.anyio
async def test_calls_beyond_the_pool_wait_their_turn_then_time_out_as_the_pool_would(
    pg_url: str, postgres_dsn: str, fresh_store: Callable[..., Any]
) -> None:
    engine = create_async_engine(pg_url, pool_size=2, max_overflow=0, pool_timeout=0.5)
    try:
        async with fresh_store(engine) as store:
            record = SessionRecord(hash_token(new_token()), "alice", T0, T0 + timedelta(1), {})
            await store.create(record)
            results: list[Any] = []
            gave_up = anyio.Event()

            async def read() -> None:
                try:
                    results.append(await store.get(record.id))
                except StoreUnavailable as exc:
                    results.append(exc)
                    gave_up.set()

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
                        await gave_up.wait()  # after pool_timeout
                        assert len(results) == 1
                        await lock.rollback()  # the two admitted reads now finish
            finally:
                await locker.close()
            [waited, *read_through] = results
            assert isinstance(waited, StoreUnavailable)
            assert "waiting for a database connection" in str(waited)
            assert read_through == [record, record]
    finally:
        await engine.dispose()
