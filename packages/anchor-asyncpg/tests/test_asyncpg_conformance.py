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
        """The row as stored, read with SQL of its own rather than through the store."""
        assert store.pool is not None
        async with store.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT id, user_id, data::text AS data, created_at, expires_at "
                f"FROM {store.table} WHERE id = $1",
                session_id,
            )
        if row is None:
            return None
        return SessionRecord(
            row["id"], row["user_id"], row["created_at"], row["expires_at"], load_data(row["data"])
        )


class TestAsyncpgStoreWithoutStatementCache(TestAsyncpgStore):
    """The same rules with asyncpg's statement cache off, as PgBouncer's transaction mode needs."""

    @pytest.fixture
    async def store(
        self, make_pool: Callable[..., Any], store_on: Callable[..., Any]
    ) -> AsyncIterator[AsyncpgStore]:
        async with make_pool(statement_cache_size=0) as pool, store_on(pool) as store:
            yield store
