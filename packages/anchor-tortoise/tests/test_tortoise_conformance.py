"""The FastAPI Anchor conformance suite on `TortoiseStore`, against real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from anchor_tortoise import TortoiseStore
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing import SessionStoreSuite


class _TortoiseSuite(SessionStoreSuite):
    can_be_unavailable = True
    can_miss_table = True
    reader: Callable[[Any, str], Awaitable[SessionRecord | None]]

    @pytest.fixture
    async def unavailable_store(self, unavailable_tortoise: Any) -> AsyncIterator[TortoiseStore]:
        yield unavailable_tortoise.store()

    @pytest.fixture
    async def store_without_table(self, tortoise_no_table: Any) -> AsyncIterator[TortoiseStore]:
        yield tortoise_no_table.store()

    async def read_stored(self, store: Any, session_id: str) -> SessionRecord | None:
        # What reached the table, read on a plain asyncpg connection.
        return await self.reader(store.model, session_id)


class TestTortoiseStore(_TortoiseSuite):
    """A table of its own in `public`, asyncpg's default pool reset."""

    @pytest.fixture
    async def store(self, tortoise_table: Any, read_row: Any) -> AsyncIterator[TortoiseStore]:
        self.reader = read_row
        yield tortoise_table.store()


class TestTortoiseStoreInSchema(_TortoiseSuite):
    """The default table name in a PostgreSQL schema of its own, pool reset skipped."""

    @pytest.fixture
    async def store(
        self, tortoise_schema_table: Any, read_row: Any
    ) -> AsyncIterator[TortoiseStore]:
        self.reader = read_row
        yield tortoise_schema_table.store()
