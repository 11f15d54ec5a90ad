"""The conformance suite on PostgreSQL through a raw asyncpg pool (copy this for your store)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from anchor_asyncpg import AsyncpgStore
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing import SessionStoreSuite
from fastapi_anchor.toolkit import load_data


class TestAsyncpgStore(SessionStoreSuite):
    can_be_unavailable = True
    can_miss_table = True

    @pytest.fixture
    async def store(self, new_store: Callable[..., Any]) -> AsyncIterator[AsyncpgStore]:
        async with new_store() as store:
            yield store

    @pytest.fixture
    async def unavailable_store(self, down_dsn: str) -> AsyncIterator[AsyncpgStore]:
        store = AsyncpgStore(down_dsn, timeout=2)
        yield store
        await store.close()

    @pytest.fixture
    async def store_without_table(self, pool: asyncpg.Pool) -> AsyncpgStore:
        return AsyncpgStore(pool, table=f"never_created_{secrets.token_hex(4)}")

    async def read_stored(self, store: AsyncpgStore, session_id: str) -> SessionRecord | None:
        """The row as stored, every column, read with SQL of its own rather than the store's."""
        assert store.pool is not None
        async with store.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT *, data::text AS data_text FROM {store.table} WHERE id = $1", session_id
            )
        if row is None:
            return None
        fields = {key: value for key, value in row.items() if key not in ("data", "data_text")}
        return SessionRecord(**fields, data=load_data(row["data_text"]))


class TestAsyncpgStoreWithoutStatementCache(TestAsyncpgStore):
    """The same rules with asyncpg's statement cache off, as PgBouncer's transaction mode needs."""

    @pytest.fixture
    async def store(
        self, make_pool: Callable[..., Any], store_on: Callable[..., Any]
    ) -> AsyncIterator[AsyncpgStore]:
        async with make_pool(statement_cache_size=0) as pool, store_on(pool) as store:
            yield store
