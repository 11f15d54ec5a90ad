"""Database errors become store errors by their class and SQLSTATE, on real servers."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest
from sqlalchemy import MetaData, event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from fastapi_anchor.store import (
    SessionExists,
    SessionRecord,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.tokens import hash_token, new_token

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def new_record(**changes: Any) -> SessionRecord:
    fields: dict[str, Any] = {
        "id": hash_token(new_token()),
        "user_id": "alice",
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "data": {"k": "v"},
    }
    fields.update(changes)
    return SessionRecord(**fields)


@pytest.fixture
async def store(
    any_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> AsyncIterator[SQLAlchemyStore]:
    async with fresh_store(any_engine) as store:
        yield store


async def test_a_duplicate_id_is_session_exists_from_the_drivers_unique_violation(
    store: SQLAlchemyStore,
) -> None:
    record = new_record()
    await store.create(record)
    with pytest.raises(SessionExists) as caught:
        await store.create(new_record(id=record.id, user_id="mallory"))
    cause = caught.value.__cause__
    assert isinstance(cause, exc.IntegrityError)
    if store.engine.dialect.name == "postgresql":
        assert cause.orig.sqlstate == "23505"  # type: ignore[union-attr]
    else:
        assert isinstance(cause.orig, sqlite3.IntegrityError)
    assert await store.get(record.id) == record


async def test_another_integrity_error_is_not_taken_for_a_duplicate(
    store: SQLAlchemyStore,
) -> None:
    """A constraint of the application's own (here one refusing a user) is not a taken id."""
    name = store.table.name
    if store.engine.dialect.name == "postgresql":
        rule = f"ALTER TABLE {name} ADD CONSTRAINT {name}_no_mallory CHECK (user_id <> 'mallory')"
    else:
        rule = (
            f"CREATE TRIGGER {name}_no_mallory BEFORE INSERT ON {name} "
            "WHEN NEW.user_id = 'mallory' BEGIN SELECT RAISE(ABORT, 'no mallory'); END"
        )
    async with store.engine.begin() as conn:
        await conn.exec_driver_sql(rule)
    with pytest.raises(StoreRejected) as caught:  # a mistake (500), never SessionExists
        await store.create(new_record(user_id="mallory"))
    assert isinstance(caught.value.__cause__, exc.IntegrityError)
    await store.create(new_record(user_id="alice"))


async def test_data_that_json_cannot_hold_is_refused_before_the_database(
    store: SQLAlchemyStore,
) -> None:
    record = new_record()
    with pytest.raises(ValueError, match="JSON"):
        await store.create(new_record(id=record.id, data={"x": float("nan")}))
    await store.create(record)
    with pytest.raises(TypeError):
        await store.update(record.id, data={"x": object()})
    assert await store.get(record.id) == record


async def test_a_closed_port_is_store_unavailable(closed_port: int) -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/db")
    store = SQLAlchemyStore(engine)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.get(hash_token(new_token()))
        assert isinstance(caught.value.__cause__, OSError)
    finally:
        await engine.dispose()


async def test_an_exhausted_pool_is_store_unavailable(
    pg_url: str, fresh_store: Callable[..., Any]
) -> None:
    engine = create_async_engine(pg_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with fresh_store(engine) as store:
            async with engine.connect() as held:
                await held.exec_driver_sql("SELECT 1")
                with pytest.raises(StoreUnavailable) as caught:
                    await store.get(hash_token(new_token()))
                assert isinstance(caught.value.__cause__, exc.TimeoutError)
            assert await store.get(hash_token(new_token())) is None  # the connection is back
    finally:
        await engine.dispose()


async def test_a_missing_table_says_how_to_create_it(any_engine: AsyncEngine) -> None:
    store = SQLAlchemyStore(any_engine, sessions_table(MetaData(), "anchor_no_such_table"))
    with pytest.raises(
        TableMissing, match=r"alembic revision --autogenerate.*create_table"
    ) as caught:
        await store.get(hash_token(new_token()))
    assert "anchor_no_such_table" in str(caught.value)
    assert isinstance(caught.value.__cause__, exc.DBAPIError)
    await store.create_table()
    assert await store.get(hash_token(new_token())) is None
    async with any_engine.begin() as conn:
        await conn.run_sync(store.table.drop)


async def test_a_bad_query_is_a_bug_not_an_outage(pg_engine: AsyncEngine) -> None:
    """A table without the shared columns (a wrong migration) is a mistake naming the column."""
    async with pg_engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE anchor_wrong_columns (id varchar(64) PRIMARY KEY)")
    try:
        store = SQLAlchemyStore(pg_engine, sessions_table(MetaData(), "anchor_wrong_columns"))
        with pytest.raises(StoreRejected, match="42703 undefined_column") as caught:
            await store.get(hash_token(new_token()))
        assert isinstance(caught.value.__cause__, exc.ProgrammingError)
    finally:
        async with pg_engine.begin() as conn:
            await conn.exec_driver_sql("DROP TABLE anchor_wrong_columns")


async def test_a_database_that_does_not_exist_is_refused_not_unavailable(pg_url: str) -> None:
    """Both read paths raise StoreRejected (3D000) for it: a 500 to fix, not a 503 to wait."""
    url = pg_url.rsplit("/", 1)[0] + "/anchor_no_such_database"
    for watched in (False, True):
        engine = create_async_engine(url)
        if watched:  # a statement listener sends reads through a Connection
            event.listen(engine.sync_engine, "before_cursor_execute", lambda *_args: None)
        try:
            with pytest.raises(StoreRejected) as caught:
                await SQLAlchemyStore(engine).get(hash_token(new_token()))
            assert caught.value.sqlstate == "3D000"
        finally:
            await engine.dispose()


async def test_a_cancelled_read_gives_back_no_busy_connection(
    pg_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> None:
    """A request cancelled mid-read (client gone) must not leave its query on a pooled
    connection, where the next request would find it."""
    async with fresh_store(pg_engine) as store:
        record = new_record()
        await store.create(record)
        assert await store.get(record.id) == record
        async with pg_engine.connect() as locker:  # a lock that makes the SELECT wait
            await locker.execute(text(f"LOCK TABLE {store.table.name} IN ACCESS EXCLUSIVE MODE"))
            with anyio.move_on_after(0.3) as scope:
                await store.get(record.id)
            assert scope.cancelled_caught
            await locker.rollback()
        for _ in range(3):
            assert await store.get(record.id) == record
