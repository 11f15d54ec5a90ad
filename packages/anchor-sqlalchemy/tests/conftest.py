"""Engines for the anchor-sqlalchemy tests: PostgreSQL (the run's database) and SQLite files.

Every test gets its own engine, disposed afterwards, and every table a fresh name, dropped
after the test. Helpers are fixtures, so no test module imports this file.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table


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
