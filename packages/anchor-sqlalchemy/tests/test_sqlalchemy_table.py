"""The table `sessions_table` creates on PostgreSQL is the shared one, trigger included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token, new_token
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, notify_channel

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)

Describe = Callable[[str, str], Awaitable[dict[str, Any]]]


def new_record(user_id: str = "alice") -> SessionRecord:
    return SessionRecord(hash_token(new_token()), user_id, T0, T0 + timedelta(hours=1), {"n": 1})


@pytest.fixture
async def schema(new_schema: Callable[[str], Awaitable[str]]) -> str:
    return await new_schema("anchor_sa")


@pytest.fixture
async def search_path_engine(pg_url: str, schema: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose connections put the test's schema first: the default schema."""
    engine = create_async_engine(pg_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield engine
    finally:
        await engine.dispose()


async def create_all(engine: AsyncEngine, metadata: MetaData) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


@pytest.mark.parametrize(
    "where", ["schema=", "search_path", "schema_translate_map", "store.create_table"]
)
async def test_the_created_table_is_the_shared_one_with_its_trigger(
    where: str,
    schema: str,
    pg_engine: AsyncEngine,
    search_path_engine: AsyncEngine,
    describe: Describe,
    shared_table: Describe,
) -> None:
    """However the table is placed in a schema, it is column for column, index for index,
    the table of `create_table_sql`, with the same trigger and function, in that schema."""
    metadata = MetaData()
    if where == "schema=":
        sessions_table(metadata, schema=schema)
        await create_all(pg_engine, metadata)
    elif where == "search_path":
        sessions_table(metadata)
        await create_all(search_path_engine, metadata)
    elif where == "schema_translate_map":
        sessions_table(metadata)
        await create_all(pg_engine.execution_options(schema_translate_map={None: schema}), metadata)
    else:
        await SQLAlchemyStore(pg_engine, schema=schema).create_table()
    created = await describe(schema, DEFAULT_TABLE_NAME)
    assert created == await shared_table(DEFAULT_TABLE_NAME)
    triggers = [trigger["name"] for trigger in created["triggers"]]
    assert triggers == ["anchor_sessions_changed", "anchor_sessions_ended"]
    assert [f["name"] for f in created["functions"]] == ["anchor_sessions_notify"]
    assert len(created["columns"]) == 10


async def test_the_trigger_announces_committed_changes_of_sessions(
    schema: str,
    search_path_engine: AsyncEngine,
    notifications: Callable[[str], Awaitable[asyncio.Queue[str]]],
) -> None:
    """A delete or a refresh is announced with the session's id once committed; a last-seen
    time alone, or a rolled-back delete, is not."""
    store = SQLAlchemyStore(search_path_engine)
    await store.create_table()
    heard = await notifications(notify_channel(DEFAULT_TABLE_NAME))
    kept, ended, refreshed = new_record(), new_record(), new_record()
    for record in (kept, ended, refreshed):
        await store.create(record)

    assert await store.update(kept.id, last_seen_at=T0 + timedelta(minutes=1))
    async with search_path_engine.connect() as conn:
        await conn.execute(text("DELETE FROM anchor_sessions WHERE id = :id"), {"id": kept.id})
        await conn.rollback()
    assert await store.update(refreshed.id, expires_at=T0 + timedelta(hours=2))
    assert await store.delete(ended.id)
    # Notifications arrive in commit order: anything about `kept` would have come first.
    assert await asyncio.wait_for(heard.get(), 10) == refreshed.id
    assert await asyncio.wait_for(heard.get(), 10) == ended.id
    assert heard.empty()
    assert await store.get(kept.id) is not None


async def test_sqlite_gets_the_table_without_a_trigger(sqlite_engine: AsyncEngine) -> None:
    metadata = MetaData()
    table = sessions_table(metadata)
    await create_all(sqlite_engine, metadata)
    async with sqlite_engine.connect() as conn:
        objects = (await conn.execute(text("SELECT type, name FROM sqlite_master"))).all()
    assert {tuple(row) for row in objects} >= {("table", table.name)}
    assert not [row for row in objects if row[0] == "trigger"]
    store = SQLAlchemyStore(sqlite_engine, table)
    record = new_record()
    await store.create(record)
    assert await store.get(record.id) == record
