"""What the server executes for each store call, counted by the server itself.

With `log_statement = 'all'` PostgreSQL logs every statement it executes, and with
`client_min_messages = 'log'` it also sends each of those log lines to the client that ran the
statement, as a notice. The engine below turns both on for its own connections and collects the
notices: the count is the server's, not the client library's. (Both settings need a superuser,
which the test database of this repository has; pg_stat_statements would need a server restart.)
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore
from fastapi_anchor import Anchor
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.tokens import hash_token, new_token

from required import missing

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


class ServerLog:
    """Statements the server reports having executed on the engine's connections."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def install(self, engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.run_async(
                lambda driver: driver.execute(
                    "SET log_statement = 'all'; SET client_min_messages = 'log'"
                )
            )
            driver = dbapi_connection.driver_connection
            driver.add_log_listener(lambda _conn, message: self.lines.append(message.message))

    def statements(self) -> list[str]:
        taken, self.lines = self.lines, []
        return taken


def new_record(user_id: str = "alice") -> SessionRecord:
    return SessionRecord(hash_token(new_token()), user_id, T0, T0 + timedelta(hours=1), {"n": 1})


@pytest.fixture
async def superuser(pg_url: str) -> None:
    """Skip unless the test role is a superuser, as `log_statement` requires."""
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as conn:
            superuser = (
                await conn.execute(
                    text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                )
            ).scalar()
    finally:
        await engine.dispose()
    if not superuser:
        missing("a superuser", "counting statements on the server needs log_statement")


@asynccontextmanager
async def logged(pg_url: str, **options: Any) -> AsyncIterator[tuple[AsyncEngine, ServerLog]]:
    """An engine made with `options`, every connection of which the server log reports."""
    engine = create_async_engine(pg_url, **options)
    log = ServerLog()
    log.install(engine)
    try:
        yield engine, log
    finally:
        await engine.dispose()


@pytest.fixture
async def logged_engine(
    pg_url: str, superuser: None
) -> AsyncIterator[tuple[AsyncEngine, ServerLog]]:
    async with logged(pg_url) as logged_engine:
        yield logged_engine


@pytest.fixture
async def logged_store(
    logged_engine: tuple[AsyncEngine, ServerLog], fresh_store: Callable[..., Any]
) -> AsyncIterator[tuple[SQLAlchemyStore, ServerLog]]:
    engine, log = logged_engine
    async with fresh_store(engine) as store:
        log.statements()
        yield store, log


@pytest.mark.anyio
async def test_get_is_one_select_and_nothing_else(
    logged_store: tuple[SQLAlchemyStore, ServerLog],
) -> None:
    store, log = logged_store
    record = new_record()
    await store.create(record)
    await store.get(record.id)  # the first call prepares the statement
    log.statements()
    for _ in range(5):
        assert await store.get(record.id) == record
        [statement] = log.statements()
        assert statement.startswith("execute "), statement
        assert "SELECT" in statement, statement
        assert "WHERE" in statement, statement
    assert await store.get(hash_token(new_token())) is None
    assert len(log.statements()) == 1


@pytest.mark.anyio
async def test_the_server_log_would_see_a_transaction(
    logged_engine: tuple[AsyncEngine, ServerLog],
) -> None:
    """Control: a plain read on the engine is BEGIN, SELECT, ROLLBACK, and the log shows it."""
    engine, log = logged_engine
    async with engine.connect() as conn:
        log.statements()
        await conn.execute(text("SELECT 1"))
    statements = log.statements()
    assert len(statements) == 3
    assert "BEGIN" in statements[0]
    assert "ROLLBACK" in statements[2]


@pytest.mark.anyio
async def test_every_write_is_one_autocommitted_statement(
    logged_store: tuple[SQLAlchemyStore, ServerLog],
) -> None:
    store, log = logged_store
    record = new_record("bob")
    calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("INSERT", lambda: store.create(record)),
        ("UPDATE", lambda: store.update(record.id, expires_at=T0 + timedelta(hours=2))),
        ("UPDATE", lambda: store.update(record.id, data={"n": 2})),
        ("UPDATE", lambda: store.update(record.id, last_seen_at=T0 + timedelta(minutes=1))),
        (
            "UPDATE",
            lambda: store.update(
                record.id, expires_at=T0, last_seen_at=T0, authenticated_at=T0, data={}
            ),
        ),
        ("SELECT", lambda: store.update(record.id)),
        ("SELECT", lambda: store.list_user("bob")),
        ("DELETE", lambda: store.delete_user("bob", keep=record.id)),
        ("DELETE", lambda: store.delete(record.id)),
        ("DELETE", lambda: store.delete_user("bob")),
        ("DELETE", lambda: store.delete_expired(T0)),
    ]
    for verb, call in calls:
        await call()
        [statement] = log.statements()
        assert verb in statement, statement
        for word in ("BEGIN", "COMMIT", "ROLLBACK"):
            assert word not in statement


@pytest.mark.anyio
async def test_the_applications_engine_keeps_its_own_options(
    logged_engine: tuple[AsyncEngine, ServerLog],
) -> None:
    """The store's autocommit is its own: the engine it was given still runs transactions."""
    engine, log = logged_engine
    SQLAlchemyStore(engine)
    assert "isolation_level" not in engine.get_execution_options()
    async with engine.connect() as conn:
        log.statements()
        await conn.execute(text("SELECT 1"))
        await conn.rollback()
    assert "BEGIN" in log.statements()[0]


@pytest.mark.anyio
async def test_statement_logging_sees_the_read(
    pg_url: str, fresh_store: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """With echo on, every read goes through a Connection, so SQLAlchemy logs it."""
    engine = create_async_engine(pg_url, echo=True)
    try:
        async with fresh_store(engine) as store:
            record = new_record()
            await store.create(record)
            caplog.clear()
            with caplog.at_level("INFO", logger="sqlalchemy.engine"):
                assert await store.get(record.id) == record
            logged = [r.getMessage() for r in caplog.records]
            assert any(m.startswith("SELECT") and store.table.name in m for m in logged)
    finally:
        await engine.dispose()


def statement_name(statement: str) -> str:
    """The prepared statement's name in a logged `execute <name>: <query>` line."""
    assert statement.startswith("execute "), statement
    return statement.removeprefix("execute ").split(":", 1)[0]


async def names_of_reads(
    store: SQLAlchemyStore, log: ServerLog, record: SessionRecord, reads: int = 4
) -> list[str]:
    """Read `record` `reads` times; return the name each read's one statement ran under."""
    names = []
    for _ in range(reads):
        assert await store.get(record.id) == record
        [statement] = log.statements()
        assert f"FROM {store.table.name}" in statement, statement
        names.append(statement_name(statement))
    return names


@pytest.mark.anyio
async def test_get_runs_on_asyncpgs_own_statement_cache(
    pg_url: str, superuser: None, fresh_store: Callable[..., Any]
) -> None:
    """The direct read: asyncpg's statement cache keeps one name for the SELECT, which the
    dialect's cursor, with its own cache turned off, would prepare anew under a new name on
    every read (the control, through a Connection, below)."""
    options = {"connect_args": {"prepared_statement_cache_size": 0}}
    async with logged(pg_url, **options) as (engine, log), fresh_store(engine) as store:
        record = new_record()
        await store.create(record)
        await store.get(record.id)  # asyncpg prepares the statement
        log.statements()
        names = await names_of_reads(store, log, record)
        assert names[0].startswith("__asyncpg_stmt_"), names
        assert len(set(names)) == 1, names

        event.listen(engine.sync_engine, "before_cursor_execute", lambda *_args: None)
        assert len(set(await names_of_reads(store, log, record))) == 4


@pytest.mark.anyio
async def test_application_named_statements_keep_reads_on_the_dialects_cursor(
    pg_url: str, superuser: None, fresh_store: Callable[..., Any]
) -> None:
    """With SQLAlchemy's PgBouncer recipe (a `prepared_statement_name_func`) every statement
    runs under the application's names, the hot SELECT included: asyncpg's own statement
    cache, which numbers its statements per connection, is not used."""
    numbers = itertools.count()
    options = {"connect_args": {"prepared_statement_name_func": lambda: f"__app_{next(numbers)}__"}}
    async with logged(pg_url, **options) as (engine, log), fresh_store(engine) as store:
        record = new_record()
        await store.create(record)
        log.statements()
        for name in await names_of_reads(store, log, record):
            assert name.startswith("__app_"), name


@pytest.mark.anyio
async def test_a_steady_authenticated_request_is_one_select(
    logged_store: tuple[SQLAlchemyStore, ServerLog],
) -> None:
    """Through `Anchor` over HTTP: one SELECT per request and no write, until the last-seen
    time is due (one UPDATE with it), then one SELECT again."""
    store, log = logged_store
    now = [T0]
    anchor = Anchor(
        store,
        secret_keys="statement-count-secret-0123456789",
        clock=lambda: now[0],
        last_seen_resolution=timedelta(hours=1),
    )
    async with https_client(session_app(anchor)) as client:
        assert (await client.post("/login", params={"user": "carol"})).status_code == 200
        log.statements()
        for _ in range(3):
            assert (await client.get("/me")).status_code == 200
            [statement] = log.statements()
            assert "SELECT" in statement, statement
        now[0] = T0 + timedelta(hours=1, seconds=1)
        assert (await client.get("/me")).status_code == 200
        select, write = log.statements()
        assert "SELECT" in select, select
        assert "UPDATE" in write, write
        assert "last_seen_at" in write, write
        assert (await client.get("/me")).status_code == 200
        assert len(log.statements()) == 1
    [stored] = await store.list_user("carol")
    assert stored.last_seen_at == now[0]
