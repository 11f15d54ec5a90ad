"""The direct read of `get` on PostgreSQL with asyncpg: what it returns, when it steps aside,
and how it fails: a dead, broken or cancelled read hands over to the `Connection` path or
leaves no connection behind in a state the next request could trip on.

The engines here hold one pooled connection, whose server process id tells whether the pool
kept it or replaced it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from sqlalchemy import MetaData, event, exc, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from anchor_sqlalchemy.direct import DirectRead
from anchor_sqlalchemy.statements import Statements
from fastapi_anchor.store import SessionRecord, StoreUnavailable, TableMissing
from fastapi_anchor.tokens import hash_token, new_token

from tcp_relay import Relay

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def new_record() -> SessionRecord:
    return SessionRecord(
        hash_token(new_token()),
        "alice",
        T0,
        T0 + timedelta(hours=1),
        {"k": ["v", 1]},
        authenticated_at=T0 + timedelta(minutes=1),
        last_seen_at=T0 + timedelta(minutes=2, microseconds=3),
        ip_address="192.0.2.1",
        user_agent="Mozilla/5.0 ü",
        persistent=False,
    )


def one_connection_engine(url: str, name: str) -> AsyncEngine:
    """An engine with a single pooled connection, named `name` on the server."""
    return create_async_engine(
        url,
        pool_size=1,
        max_overflow=0,
        connect_args={"server_settings": {"application_name": name}},
    )


@pytest.fixture
async def single(pg_url: str) -> AsyncIterator[tuple[AsyncEngine, str]]:
    name = f"anchor-direct-{secrets.token_hex(4)}"
    engine = one_connection_engine(pg_url, name)
    try:
        yield engine, name
    finally:
        await engine.dispose()


async def server_pids(admin_dsn: str, application_name: str) -> set[int]:
    """The server processes serving connections named `application_name`."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
        )
    finally:
        await admin.close()
    return {row["pid"] for row in rows}


async def pooled_pid(engine: AsyncEngine) -> int:
    """The server process of the engine's (single) pooled connection."""
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(admin_dsn: str, pid: int) -> None:
    """End a server process and wait (up to 5 s, on the server) until it is gone."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await admin.close()


async def test_the_direct_row_is_the_row_a_connection_reads(
    pg_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> None:
    """Same values, same types: text data, aware UTC datetimes with their microseconds."""
    async with fresh_store(pg_engine) as store:
        record = new_record()
        await store.create(record)
        statement = Statements.build(store.table, "postgresql").get
        autocommit = pg_engine.sync_engine.execution_options(isolation_level="AUTOCOMMIT")
        direct = DirectRead.prepare(autocommit, statement, "session_id")
        assert direct is not None
        assert direct.sql.endswith("$1::VARCHAR")
        direct_row = await greenlet_spawn(direct.first, record.id)
        async with pg_engine.connect() as conn:
            row = (await conn.execute(statement, {"session_id": record.id})).one()
        assert tuple(direct_row) == tuple(row)
        assert [type(value) for value in direct_row] == [type(value) for value in row]
        user_id, data, created_at, expires_at, authenticated_at, last_seen_at, *device = direct_row
        assert (user_id, created_at, expires_at) == ("alice", record.created_at, record.expires_at)
        assert created_at.utcoffset() == timedelta(0)
        assert isinstance(data, str)
        assert (authenticated_at, last_seen_at) == (record.authenticated_at, record.last_seen_at)
        assert device == ["192.0.2.1", "Mozilla/5.0 ü", False]
        assert await greenlet_spawn(direct.first, hash_token(new_token())) is None


async def test_no_direct_read_off_asyncpg_or_with_execution_options(
    pg_engine: AsyncEngine, sqlite_engine: AsyncEngine
) -> None:
    table = sessions_table(MetaData())
    sqlite = sqlite_engine.sync_engine
    assert DirectRead.prepare(sqlite, Statements.build(table, "sqlite").get, "session_id") is None
    statement = Statements.build(table, "postgresql").get
    translated = pg_engine.sync_engine.execution_options(schema_translate_map={None: "other"})
    assert DirectRead.prepare(translated, statement, "session_id") is None
    assert DirectRead.prepare(pg_engine.sync_engine, statement, "session_id") is not None


@pytest.mark.parametrize("on_class", [False, True], ids=["on the engine", "on the Engine class"])
async def test_a_listener_added_later_sees_the_reads_until_it_is_removed(
    pg_engine: AsyncEngine, fresh_store: Callable[..., Any], on_class: bool
) -> None:
    """A listener on the application's engine, or on every engine (the `Engine` class, as
    instrumentations do), sees `get`'s SELECT: the store reads through a `Connection`."""
    target: Any = Engine if on_class else pg_engine.sync_engine
    async with fresh_store(pg_engine) as store:
        record = new_record()
        await store.create(record)
        seen: list[str] = []

        def listener(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            seen.append(statement)

        event.listen(target, "before_cursor_execute", listener)
        try:
            assert await store.get(record.id) == record
        finally:
            event.remove(target, "before_cursor_execute", listener)
        [statement] = seen
        assert statement.startswith("SELECT")
        assert store.table.name in statement
        assert await store.get(record.id) == record
        assert seen == [statement]


async def test_a_killed_connection_is_replaced_and_the_read_succeeds(
    single: tuple[AsyncEngine, str], postgres_dsn: str, fresh_store: Callable[..., Any]
) -> None:
    """The direct read finds the pool's only connection dead: it invalidates it, and the
    `Connection` path reads on a new one, so the caller gets the record, not an error."""
    engine, name = single
    async with fresh_store(engine) as store:
        record = new_record()
        await store.create(record)
        assert await store.get(record.id) == record
        [killed] = await server_pids(postgres_dsn, name)
        await terminate(postgres_dsn, killed)

        assert await store.get(record.id) == record
        [replacement] = await server_pids(postgres_dsn, name)
        assert replacement != killed
        assert await store.get(record.id) == record
        assert await server_pids(postgres_dsn, name) == {replacement}


async def test_a_missing_table_keeps_the_connection(
    single: tuple[AsyncEngine, str],
) -> None:
    """A failed direct read on a healthy connection: `TableMissing` from the `Connection`
    path, and the pool keeps its connection."""
    engine, _name = single
    pid = await pooled_pid(engine)
    store = SQLAlchemyStore(engine, sessions_table(MetaData(), "anchor_no_such_table"))
    for _ in range(2):
        with pytest.raises(TableMissing) as caught:
            await store.get(hash_token(new_token()))
        assert isinstance(caught.value.__cause__, exc.ProgrammingError)
    assert await pooled_pid(engine) == pid


async def test_a_read_cancelled_while_it_waits_leaves_no_busy_connection(
    single: tuple[AsyncEngine, str], pg_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> None:
    """A request cancelled mid-read (client gone, timeout): the connection, with its query
    still running on the server, is invalidated rather than pooled, and once the lock goes
    the next read runs on a new connection."""
    engine, _name = single
    async with fresh_store(engine) as store:
        record = new_record()
        await store.create(record)
        assert await store.get(record.id) == record
        pid = await pooled_pid(engine)
        async with pg_engine.connect() as locker:  # makes the SELECT wait
            await locker.execute(text(f"LOCK TABLE {store.table.name} IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(store.get(record.id), 0.3)
            await locker.rollback()
        assert await store.get(record.id) == record
        assert await pooled_pid(engine) != pid
        assert await store.get(record.id) == record


async def test_a_statement_timeout_is_store_unavailable_at_once_and_keeps_the_connection(
    pg_url: str, pg_engine: AsyncEngine, fresh_store: Callable[..., Any]
) -> None:
    """The server cancels the SELECT (statement_timeout): 503 from that first attempt, not
    after a second wait through a `Connection`, and the live connection stays pooled."""
    engine = create_async_engine(
        pg_url,
        pool_size=1,
        max_overflow=0,
        connect_args={"server_settings": {"statement_timeout": "200"}},
    )
    try:
        async with fresh_store(engine) as store:
            record = new_record()
            await store.create(record)
            pid = await pooled_pid(engine)
            async with pg_engine.connect() as locker:  # makes the SELECT wait
                await locker.execute(
                    text(f"LOCK TABLE {store.table.name} IN ACCESS EXCLUSIVE MODE")
                )
                with pytest.raises(StoreUnavailable) as caught:
                    await store.get(record.id)
                await locker.rollback()
            # asyncpg's own error: the direct read raised it, no Connection repeated the read
            assert isinstance(caught.value.__cause__, asyncpg.QueryCanceledError)
            assert await store.get(record.id) == record
            assert await pooled_pid(engine) == pid
    finally:
        await engine.dispose()


async def test_a_server_gone_away_is_store_unavailable_until_it_is_back(
    postgres_dsn: str, fresh_store: Callable[..., Any]
) -> None:
    """The direct read fails on the dropped connection and the `Connection` path cannot
    connect: `StoreUnavailable`, from the refused connection. With the server back, the next
    read succeeds."""
    relay = Relay(postgres_dsn)
    await relay.start()
    url = "postgresql+asyncpg://" + relay.dsn.split("://", 1)[1]
    engine = one_connection_engine(url, "anchor-direct-relay")
    try:
        async with fresh_store(engine) as store:
            record = new_record()
            await store.create(record)
            assert await store.get(record.id) == record
            await relay.cut()
            try:
                with pytest.raises(StoreUnavailable) as caught:
                    await store.get(record.id)
                assert isinstance(caught.value.__cause__, OSError)
            finally:
                await relay.start()
            assert await store.get(record.id) == record
    finally:
        await engine.dispose()
        await relay.cut()
