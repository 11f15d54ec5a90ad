"""What is special to the Piccolo store: engine binding, round trips, pools, errors."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import AnchorSession, PiccoloStore, sessions_table, skip_reset
from fastapi_anchor import Anchor
from fastapi_anchor.store import SessionExists, SessionRecord, StoreUnavailable, TableMissing
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.toolkit import DEFAULT_TIMEOUT

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def record(user_id: str = "alice", **changes: Any) -> SessionRecord:
    fields: dict[str, Any] = {
        "id": secrets.token_hex(32),
        "user_id": user_id,
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "data": {"n": 1},
    }
    fields.update(changes)
    return SessionRecord(**fields)


async def test_each_store_binds_its_own_table_class_to_its_engine(
    pooled_engine: PostgresEngine,
    postgres_dsn: str,
    make_engine: Callable[..., PostgresEngine],
    start_pool: Callable[..., Any],
) -> None:
    """Two engines (here: two search paths) never share a table class or a row."""
    schema = f"anchor_piccolo_{secrets.token_hex(4)}"
    other = make_engine(postgres_dsn, server_settings={"search_path": schema})
    await pooled_engine.run_ddl(f'CREATE SCHEMA "{schema}"')
    try:
        async with start_pool(other):
            first = PiccoloStore(pooled_engine, table="anchor_sessions_bound")
            second = PiccoloStore(other, table="anchor_sessions_bound")
            assert first.table is not second.table
            assert first.table._meta.db is pooled_engine
            assert second.table._meta.db is other
            assert AnchorSession._meta._db is None  # the app's class stays unbound
            await first.create_table()
            await second.create_table()
            try:
                kept = record()
                await first.create(kept)
                assert await first.get(kept.id) == kept
                assert await second.get(kept.id) is None
            finally:
                await first.table.alter().drop_table(if_exists=True)
    finally:
        await pooled_engine.run_ddl(f'DROP SCHEMA "{schema}" CASCADE')


def test_table_factory_refuses_names_that_are_not_identifiers(
    piccolo_engine: PostgresEngine,
) -> None:
    with pytest.raises(ValueError, match="identifier"):
        sessions_table(piccolo_engine, table='sessions"; DROP TABLE x; --')
    with pytest.raises(ValueError, match="identifier"):
        PiccoloStore(piccolo_engine, schema="a.b")
    with pytest.raises(ValueError, match="timeout"):
        PiccoloStore(piccolo_engine, timeout=0)


@pytest.mark.parametrize(("reset", "statements"), [(skip_reset, 1), (None, 2)])
async def test_get_is_one_select_by_primary_key_outside_a_transaction(
    piccolo_engine: PostgresEngine, start_pool: Callable[..., Any], reset: Any, statements: int
) -> None:
    """A read sends one SELECT and no BEGIN; the pool's default reset adds a second query."""
    seen: list[str] = []

    async def log_queries(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(lambda logged: seen.append(logged.query))

    options: dict[str, Any] = {"min_size": 1, "max_size": 1, "init": log_queries}
    if reset is not None:
        options["reset"] = reset
    async with start_pool(piccolo_engine, **options) as engine:
        store = PiccoloStore(engine, table=f"anchor_sessions_{secrets.token_hex(4)}")
        await store.create_table()
        try:
            kept = record()
            await store.create(kept)
            seen.clear()
            assert await store.get(kept.id) == kept
            logged = list(seen)
        finally:
            await store.table.alter().drop_table(if_exists=True)
    assert len(logged) == statements, logged
    assert logged[0].startswith("SELECT "), logged
    assert logged[0].endswith("WHERE id = $1"), logged
    assert not any(q.upper().startswith(("BEGIN", "START", "COMMIT", "ROLLBACK")) for q in logged)


async def test_writes_are_one_statement_each(
    piccolo_engine: PostgresEngine, start_pool: Callable[..., Any]
) -> None:
    """An update of every field, and ending all of a user's sessions but one, each send one
    statement (no read before the write, no transaction around it)."""
    seen: list[str] = []

    async def log_queries(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(lambda logged: seen.append(logged.query))

    options: dict[str, Any] = {"min_size": 1, "max_size": 1, "init": log_queries}
    async with start_pool(piccolo_engine, reset=skip_reset, **options) as engine:
        store = PiccoloStore(engine, table=f"anchor_sessions_{secrets.token_hex(4)}")
        await store.create_table()
        try:
            kept, other = record(), record()
            for each in (kept, other):
                await store.create(each)
            later = T0 + timedelta(hours=2)
            seen.clear()
            assert await store.update(
                kept.id, expires_at=later, data={}, last_seen_at=later, authenticated_at=later
            )
            assert await store.delete_user("alice", keep=kept.id) == 1
            logged = list(seen)
            assert await store.get(kept.id) == replace(
                kept, expires_at=later, data={}, last_seen_at=later, authenticated_at=later
            )
        finally:
            await store.table.alter().drop_table(if_exists=True)
    assert [q.split()[0] for q in logged] == ["UPDATE", "DELETE"], logged


async def test_get_inside_a_piccolo_transaction_runs_in_it(
    new_store: Callable[..., Any],
) -> None:
    """Inside `engine.transaction()`, get sees what the transaction wrote and others do not."""
    async with new_store() as store:
        kept = record()
        pool = store.engine.pool
        outside = f"SELECT count(*) FROM {store.table._meta.get_formatted_tablename()}"
        async with store.engine.transaction():
            await store.create(kept)
            assert await store.get(kept.id) == kept
            assert await pool.fetchval(outside) == 0  # not committed yet
        assert await pool.fetchval(outside) == 1
        assert await store.get(kept.id) == kept


async def test_works_without_a_pool(piccolo_engine: PostgresEngine, table_name: str) -> None:
    """Without a pool Piccolo connects for every query: slower, still correct."""
    assert piccolo_engine.pool is None
    store = PiccoloStore(piccolo_engine, table=table_name)
    await store.create_table()
    try:
        kept = record()
        await store.create(kept)
        assert await store.get(kept.id) == kept
        assert await store.delete(kept.id) is True
    finally:
        await store.table.alter().drop_table(if_exists=True)


async def test_data_comes_back_as_the_same_json_object(new_store: Callable[..., Any]) -> None:
    """jsonb arrives from the driver as text; the store decodes it to exactly what was stored."""
    data = {"big": 2**64 + 3, "f": 1.5, "one": 1.0, "s": "Zoë 🚀", "l": [None, True, {"k": []}]}
    async with new_store() as store:
        kept = record(data=data)
        await store.create(kept)
        got = await store.get(kept.id)
        assert got is not None
        assert got.data == data
        assert type(got.data) is dict
        assert [type(got.data[k]) for k in ("big", "f", "one")] == [int, float, float]


async def test_update_changes_only_what_is_given_and_never_inserts(
    new_store: Callable[..., Any],
) -> None:
    async with new_store() as store:
        kept = record()
        await store.create(kept)
        later = T0 + timedelta(days=1)
        assert await store.update(kept.id, expires_at=later) is True
        assert await store.get(kept.id) == replace(kept, expires_at=later)
        assert await store.update(kept.id, data={"x": [1]}) is True
        got = await store.get(kept.id)
        assert got is not None
        assert (got.expires_at, got.data) == (later, {"x": [1]})
        assert await store.update(kept.id) is True  # nothing to change: does it exist?
        missing = secrets.token_hex(32)
        assert await store.update(missing, expires_at=later, data={}) is False
        assert await store.update(missing) is False
        assert await store.get(missing) is None
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.update(kept.id, expires_at=datetime(2030, 1, 1))


async def test_duplicate_id_is_session_exists_from_the_unique_violation(
    new_store: Callable[..., Any],
) -> None:
    async with new_store() as store:
        kept = record()
        await store.create(kept)
        with pytest.raises(SessionExists) as caught:
            await store.create(record("mallory", id=kept.id))
        assert isinstance(caught.value.__cause__, asyncpg.UniqueViolationError)


async def test_every_call_on_a_closed_port_is_store_unavailable(
    down_engine: PostgresEngine,
) -> None:
    store = PiccoloStore(down_engine)
    calls = [
        store.create_table,
        lambda: store.create(record()),
        lambda: store.get("x" * 64),
        lambda: store.update("x" * 64, expires_at=T0),
        lambda: store.update("x" * 64),
        lambda: store.update("x" * 64, last_seen_at=T0, authenticated_at=T0),
        lambda: store.delete("x" * 64),
        lambda: store.delete_user("alice"),
        lambda: store.delete_user("alice", keep="x" * 64),
        lambda: store.list_user("alice"),
        lambda: store.delete_expired(T0),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailable) as caught:
            await call()
        assert isinstance(caught.value.__cause__, OSError)


async def test_exhausted_pool_is_store_unavailable_after_the_timeout(
    piccolo_engine: PostgresEngine, start_pool: Callable[..., Any], table_name: str
) -> None:
    """With `timeout`, a call that cannot get a connection in time fails fast (503)."""
    async with start_pool(piccolo_engine, min_size=1, max_size=1) as engine:
        store = PiccoloStore(engine, table=table_name, timeout=0.2)
        await store.create_table()
        anchor = Anchor(store, secret_keys=secrets.token_urlsafe(32))
        try:
            assert engine.pool is not None
            async with https_client(session_app(anchor)) as client:
                assert (await client.post("/login")).status_code == 200
                async with engine.pool.acquire():  # the only connection is busy
                    started = time.monotonic()
                    with pytest.raises(StoreUnavailable):
                        await store.get("x" * 64)
                    assert time.monotonic() - started < 2
                    answer = await client.get("/me")
                    assert answer.status_code == 503
                    assert answer.headers["retry-after"] == "1"
                assert (await client.get("/me")).status_code == 200  # recovered once released
        finally:
            await store.table.alter().drop_table(if_exists=True)


async def test_a_terminated_connection_is_unavailable_once_then_replaced(
    piccolo_engine: PostgresEngine,
    start_pool: Callable[..., Any],
    table_name: str,
    kill_backends: Callable[[str], Any],
) -> None:
    """After PostgreSQL kills the pooled connection, the next read gives the record or
    StoreUnavailable (503), never another error; the read after it succeeds on a new one.

    Repeated, because which error the dead connection raises is a race (asyncpg reports
    ConnectionDoesNotExistError or InternalClientError, or has already noticed and reconnects).
    """
    name = f"anchor_piccolo_{secrets.token_hex(4)}"
    async with start_pool(
        piccolo_engine, min_size=1, max_size=1, server_settings={"application_name": name}
    ) as engine:
        store = PiccoloStore(engine, table=table_name)
        await store.create_table()
        try:
            kept = record()
            await store.create(kept)
            for _ in range(20):
                assert await kill_backends(name) == 1
                with contextlib.suppress(StoreUnavailable):
                    assert await store.get(kept.id) == kept
                assert await store.get(kept.id) == kept
        finally:
            await store.table.alter().drop_table(if_exists=True)


async def test_a_missing_table_says_how_to_create_it(pooled_engine: PostgresEngine) -> None:
    """TableMissing (a 503 for the app) names the migration for the default table."""
    schema = f"anchor_piccolo_{secrets.token_hex(4)}"
    custom = PiccoloStore(pooled_engine, table="nowhere", schema=schema)
    with pytest.raises(TableMissing, match=r"create_table\(\)") as caught:
        await custom.get("x" * 64)
    assert "migrations" not in str(caught.value)
    assert isinstance(caught.value.__cause__, asyncpg.UndefinedTableError)  # no such schema
    await pooled_engine.run_ddl(f'CREATE SCHEMA "{schema}"')
    try:
        with pytest.raises(TableMissing) as caught:
            await custom.list_user("alice")
        assert isinstance(caught.value.__cause__, asyncpg.UndefinedTableError)  # no such table
    finally:
        await pooled_engine.run_ddl(f'DROP SCHEMA "{schema}" CASCADE')
    default = PiccoloStore(pooled_engine)  # the run's database has no anchor_sessions table
    with pytest.raises(TableMissing, match="piccolo migrations forwards anchor_piccolo"):
        await default.delete("x" * 64)


def test_every_call_has_a_time_limit(piccolo_engine: PostgresEngine) -> None:
    assert PiccoloStore(piccolo_engine).timeout == DEFAULT_TIMEOUT
    for wrong in (None, 0, -1.0):
        with pytest.raises(ValueError, match="timeout"):
            PiccoloStore(piccolo_engine, timeout=wrong)  # type: ignore[arg-type]


def test_public_names() -> None:
    import anchor_piccolo

    assert sorted(anchor_piccolo.__all__) == [
        "AnchorSession",
        "PiccoloStore",
        "__version__",
        "sessions_table",
        "skip_reset",
    ]
