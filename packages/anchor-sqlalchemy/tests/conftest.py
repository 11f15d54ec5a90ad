"""Engines for the anchor-sqlalchemy tests: PostgreSQL (the run's database) and SQLite files.

Every test gets its own engine, disposed afterwards, and every table a fresh name, dropped
after the test. Helpers are fixtures, so no test module imports this file.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from fastapi_anchor.toolkit import create_table_sql

from catalog import describe_table


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # SQLAlchemy's async engines run on asyncio


def async_url(dsn: str) -> str:
    """The SQLAlchemy URL of a `postgresql://` DSN, with the asyncpg driver."""
    scheme, rest = dsn.split("://", 1)
    assert scheme in ("postgres", "postgresql"), dsn
    return f"postgresql+asyncpg://{rest}"


@pytest.fixture
def pg_url(postgres_dsn: str) -> str:
    return async_url(postgres_dsn)


@pytest.fixture
def table_name() -> str:
    return f"anchor_sessions_{secrets.token_hex(4)}"


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(pg_url, pool_size=5, max_overflow=5)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}")
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a PostgreSQL database, then of a SQLite file (a parametrized fixture)."""
    if request.param == "postgresql":
        return async_url(request.getfixturevalue("postgres_dsn"))
    return f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
async def any_engine(any_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on PostgreSQL, then on SQLite."""
    engine = create_async_engine(any_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def _fresh_store(
    engine: AsyncEngine, name: str, **options: Any
) -> AsyncIterator[SQLAlchemyStore]:
    store = SQLAlchemyStore(engine, sessions_table(MetaData(), name), **options)
    await store.create_table()
    try:
        yield store
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(store.table.drop, checkfirst=True)


@pytest.fixture
def fresh_store() -> Callable[..., Any]:
    """`async with fresh_store(engine, **options) as store`: a store on a new table, dropped
    afterwards."""
    return lambda engine, name=None, **options: _fresh_store(
        engine, name or f"anchor_sessions_{secrets.token_hex(4)}", **options
    )


# The table's triggers and the functions they run, as PostgreSQL prints them back, without
# the schema's name.
TRIGGERS_SQL = """
SELECT tgname AS name, replace(pg_get_triggerdef(oid), quote_ident($1) || '.', '') AS definition
FROM pg_trigger WHERE tgrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass
AND NOT tgisinternal ORDER BY tgname
"""
FUNCTIONS_SQL = """
SELECT DISTINCT p.proname AS name, n.nspname = $1 AS in_schema,
       replace(pg_get_functiondef(p.oid), quote_ident($1) || '.', '') AS definition
FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE t.tgrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND NOT t.tgisinternal
ORDER BY p.proname
"""


async def _describe(conn: asyncpg.Connection, schema: str, table: str) -> dict[str, Any]:
    description = await describe_table(conn, schema, table)
    for key, sql in (("triggers", TRIGGERS_SQL), ("functions", FUNCTIONS_SQL)):
        description[key] = [dict(row) for row in await conn.fetch(sql, schema, table)]
    return description


@pytest.fixture
def describe(pg_admin: asyncpg.Connection) -> Callable[[str, str], Awaitable[dict[str, Any]]]:
    """`await describe(schema, table)`: the table as the catalogs hold it (tests/catalog.py),
    with the definitions of its triggers and of the functions they run."""
    return lambda schema, table: _describe(pg_admin, schema, table)


@pytest.fixture
async def shared_table(
    pg_admin: asyncpg.Connection, new_schema: Callable[[str], Awaitable[str]]
) -> Callable[[str], Awaitable[dict[str, Any]]]:
    """`await shared_table(name)`: the description of the table `create_table_sql(name)`
    makes, in a schema of its own: what every adapter's table must be."""

    async def make(table: str) -> dict[str, Any]:
        schema = await new_schema("anchor_reference")
        for statement in create_table_sql(table, schema):
            await pg_admin.execute(statement)
        return await _describe(pg_admin, schema, table)

    return make


@pytest.fixture
async def notifications(
    postgres_dsn: str,
) -> AsyncIterator[Callable[[str], Awaitable[asyncio.Queue[str]]]]:
    """`queue = await notifications(channel)`: the payloads PostgreSQL sends on `channel`, as
    a LISTEN on a connection of the test's own hears them."""
    connections: list[asyncpg.Connection] = []

    async def listen(channel: str) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        conn = await asyncpg.connect(postgres_dsn)
        connections.append(conn)
        await conn.add_listener(channel, lambda _conn, _pid, _channel, id_: queue.put_nowait(id_))
        return queue

    try:
        yield listen
    finally:
        for conn in connections:
            await conn.close()
