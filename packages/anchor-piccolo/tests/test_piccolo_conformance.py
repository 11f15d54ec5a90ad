"""The conformance suite on PostgreSQL, through Piccolo (copy this class for your own store)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing import SessionStoreSuite
from fastapi_anchor.toolkit import load_data, quote_table


class TestPiccoloStore(SessionStoreSuite[PiccoloStore]):
    can_be_unavailable = True
    can_miss_table = True

    @pytest.fixture
    async def store(
        self, pooled_engine: PostgresEngine, table_name: str
    ) -> AsyncIterator[PiccoloStore]:
        store = PiccoloStore(pooled_engine, table=table_name)
        await store.create_table()
        try:
            yield store
        finally:
            await store.table.alter().drop_table(if_exists=True)

    @pytest.fixture
    async def store_without_table(
        self, pooled_engine: PostgresEngine, table_name: str
    ) -> AsyncIterator[PiccoloStore]:
        yield PiccoloStore(pooled_engine, table=table_name)

    @pytest.fixture
    async def unavailable_store(self, down_engine: PostgresEngine) -> AsyncIterator[PiccoloStore]:
        yield PiccoloStore(down_engine)

    async def read_stored(self, store: PiccoloStore, session_id: str) -> SessionRecord | None:
        """Read the row with asyncpg on a pooled connection, bypassing Piccolo and the store."""
        pool = store.engine.pool
        assert pool is not None
        row = await pool.fetchrow(
            f"SELECT * FROM {quote_table(store.table._meta.tablename)} WHERE id = $1",
            session_id,
        )
        if row is None:
            return None
        return SessionRecord(**{**row, "data": load_data(row["data"])})
