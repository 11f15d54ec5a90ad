"""The conformance suite on PostgreSQL (asyncpg) and on SQLite (aiosqlite)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing import SessionStoreSuite
from fastapi_anchor.toolkit import load_data

# Read as the database holds them: no SQLAlchemy type converts them on the way.
DEVICE_COLUMNS = "authenticated_at, last_seen_at, ip_address, user_agent, persistent"


class TestSQLAlchemyStoreOnPostgres(SessionStoreSuite[SQLAlchemyStore]):
    can_be_unavailable = True
    can_miss_table = True

    @pytest.fixture
    async def store(
        self, pg_engine: AsyncEngine, fresh_store: Callable[..., Any]
    ) -> AsyncIterator[SQLAlchemyStore]:
        async with fresh_store(pg_engine) as store:
            yield store

    @pytest.fixture
    async def unavailable_store(self, closed_port: int) -> AsyncIterator[SQLAlchemyStore]:
        engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/db")
        yield SQLAlchemyStore(engine)
        await engine.dispose()

    @pytest.fixture
    async def store_without_table(
        self, pg_engine: AsyncEngine, table_name: str
    ) -> AsyncIterator[SQLAlchemyStore]:
        yield SQLAlchemyStore(pg_engine, sessions_table(MetaData(), table_name))

    async def read_stored(self, store: SQLAlchemyStore, session_id: str) -> SessionRecord | None:
        """The row as stored, read as text on a connection of the user's engine."""
        query = text(
            f"SELECT id, user_id, data::text, created_at, expires_at, {DEVICE_COLUMNS} "
            f"FROM {store.table.name} WHERE id = :id"
        )
        async with store.engine.connect() as conn:
            row = (await conn.execute(query, {"id": session_id})).first()
        if row is None:
            return None
        return SessionRecord(*row[:2], row[3], row[4], load_data(row[2]), *row[5:])


def _sqlite_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


class TestSQLAlchemyStoreOnSQLite(SessionStoreSuite[SQLAlchemyStore]):
    can_be_unavailable = True
    can_miss_table = True

    @pytest.fixture
    async def store(
        self, sqlite_engine: AsyncEngine, fresh_store: Callable[..., Any]
    ) -> AsyncIterator[SQLAlchemyStore]:
        async with fresh_store(sqlite_engine) as store:
            yield store

    @pytest.fixture
    async def unavailable_store(self, tmp_path: Path) -> AsyncIterator[SQLAlchemyStore]:
        # SQLite cannot open a file in a directory that does not exist.
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'db'}")
        before = set(threading.enumerate())
        yield SQLAlchemyStore(engine)
        await engine.dispose()
        # After a failed connect aiosqlite stops its worker thread without waiting for it; let
        # those threads finish while this test's event loop still runs (they report to it).
        for thread in set(threading.enumerate()) - before:
            if "_connection_worker_thread" in thread.name:
                await anyio.to_thread.run_sync(thread.join, 5)

    @pytest.fixture
    async def store_without_table(
        self, sqlite_engine: AsyncEngine, table_name: str
    ) -> AsyncIterator[SQLAlchemyStore]:
        yield SQLAlchemyStore(sqlite_engine, sessions_table(MetaData(), table_name))

    async def read_stored(self, store: SQLAlchemyStore, session_id: str) -> SessionRecord | None:
        """The row as SQLite holds it: JSON text and UTC wall-clock times."""
        query = text(
            f"SELECT id, user_id, data, created_at, expires_at, {DEVICE_COLUMNS} "
            f"FROM {store.table.name} WHERE id = :id"
        )
        async with store.engine.connect() as conn:
            row = (await conn.execute(query, {"id": session_id})).first()
        if row is None:
            return None
        id_, user_id, data, created, expires, authenticated, seen, ip, agent, persistent = row
        return SessionRecord(
            id_,
            user_id,
            _sqlite_time(created),
            _sqlite_time(expires),
            json.loads(data),
            authenticated_at=_sqlite_time(authenticated),
            last_seen_at=_sqlite_time(seen),
            ip_address=ip,
            user_agent=agent,
            persistent={0: False, 1: True}[persistent],  # SQLite stores booleans as integers
        )
