"""What `SQLAlchemyStore` accepts, and what it leaves in the table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from fastapi_anchor.store import SessionRecord, SessionStore
from fastapi_anchor.tokens import hash_token, new_token
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, DEFAULT_TIMEOUT

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


async def test_the_store_is_a_session_store(sqlite_engine: AsyncEngine) -> None:
    assert isinstance(SQLAlchemyStore(sqlite_engine), SessionStore)


async def test_the_default_table_is_anchor_sessions(sqlite_engine: AsyncEngine) -> None:
    assert SQLAlchemyStore(sqlite_engine).table.name == DEFAULT_TABLE_NAME == "anchor_sessions"


def test_the_table_is_on_the_callers_metadata() -> None:
    metadata = MetaData()
    table = sessions_table(metadata, "my_sessions", schema="auth")
    assert metadata.tables["auth.my_sessions"] is table
    assert [c.name for c in table.c] == [
        "id",
        "user_id",
        "data",
        "created_at",
        "expires_at",
        "authenticated_at",
        "last_seen_at",
        "ip_address",
        "user_agent",
        "persistent",
    ]
    assert {i.name: [c.name for c in i.columns] for i in table.indexes} == {
        "my_sessions_user_id_idx": ["user_id"],
        "my_sessions_expires_at_idx": ["expires_at"],
    }


async def test_a_table_without_the_shared_columns_is_refused(sqlite_engine: AsyncEngine) -> None:
    table = Table("other", MetaData(), Column("id", String(64), primary_key=True))
    with pytest.raises(ValueError, match="lacks the columns"):
        SQLAlchemyStore(sqlite_engine, table)


def test_a_sessionmaker_without_an_engine_is_refused() -> None:
    with pytest.raises(TypeError, match="bound to an AsyncEngine"):
        SQLAlchemyStore(async_sessionmaker())
    with pytest.raises(TypeError, match="AsyncEngine or an async_sessionmaker"):
        SQLAlchemyStore("postgresql+asyncpg://localhost/db")  # type: ignore[arg-type]


async def test_a_sessionmaker_gives_the_store_its_engine(
    pg_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> None:
    factory = async_sessionmaker(pg_engine, class_=AsyncSession, expire_on_commit=False)
    async with fresh_store(pg_engine) as store:
        via_factory = SQLAlchemyStore(factory, store.table)
        assert via_factory.engine is pg_engine
        record = SessionRecord(hash_token(new_token()), "alice", T0, T0, {"a": [1]})
        await via_factory.create(record)
        assert await store.get(record.id) == record


async def test_sqlite_keeps_utc_instants_whatever_the_zone_written(
    sqlite_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> None:
    paris = timezone(timedelta(hours=2))
    async with fresh_store(sqlite_engine) as store:
        record = SessionRecord(
            hash_token(new_token()), "alice", T0.astimezone(paris), T0.astimezone(paris), {}
        )
        await store.create(record)
        assert await store.update(record.id, expires_at=(T0 + timedelta(hours=1)).astimezone(paris))
        stored = await store.get(record.id)
        assert stored is not None
        assert stored.created_at == T0
        assert stored.created_at.tzinfo == timezone.utc
        assert stored.expires_at == T0 + timedelta(hours=1)
        assert await store.delete_expired((T0 + timedelta(hours=1)).astimezone(paris)) == 1


async def test_the_engines_schema_translate_map_applies_to_every_statement(
    pg_engine: AsyncEngine, table_name: str
) -> None:
    schema = f"anchor_schema_{table_name[-8:]}"
    async with pg_engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = pg_engine.execution_options(schema_translate_map={None: schema})
        store = SQLAlchemyStore(engine, sessions_table(MetaData(), table_name))
        await store.create_table()
        record = SessionRecord(hash_token(new_token()), "alice", T0, T0, {"a": 1})
        await store.create(record)
        assert await store.get(record.id) == record
        assert [r.id for r in await store.list_user("alice")] == [record.id]
        async with pg_engine.connect() as conn:
            where = (
                await conn.execute(
                    text(
                        "SELECT table_schema FROM information_schema.tables WHERE table_name = :t"
                    ),
                    {"t": table_name},
                )
            ).scalars()
            assert list(where) == [schema]
    finally:
        async with pg_engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


async def test_the_public_names_are_exported_sorted() -> None:
    import anchor_sqlalchemy

    assert anchor_sqlalchemy.__all__ == sorted(anchor_sqlalchemy.__all__)
    assert anchor_sqlalchemy.__all__ == ["SQLAlchemyStore", "__version__", "sessions_table"]
    assert anchor_sqlalchemy.__version__ == "0.2.0"


async def test_every_call_has_a_time_limit_and_a_table_by_name(sqlite_engine: AsyncEngine) -> None:
    assert SQLAlchemyStore(sqlite_engine).timeout == DEFAULT_TIMEOUT
    for wrong in (None, 0, -1.0):
        with pytest.raises(ValueError, match="timeout"):
            SQLAlchemyStore(sqlite_engine, timeout=wrong)  # type: ignore[arg-type]
    named = SQLAlchemyStore(sqlite_engine, table="web_sessions", schema="auth")
    assert (named.table.name, named.table.schema) == ("web_sessions", "auth")
    with pytest.raises(ValueError, match="schema"):
        SQLAlchemyStore(sqlite_engine, table=named.table, schema="auth")


def test_public_names() -> None:
    import anchor_sqlalchemy

    assert sorted(anchor_sqlalchemy.__all__) == ["SQLAlchemyStore", "__version__", "sessions_table"]
