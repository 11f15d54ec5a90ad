"""Piccolo engines on the run's database (`postgres_dsn`), and fresh tables for each test.

The engine is built once (building one connects to check the server version); each test
starts its own pool on its own event loop and closes it. Every table has a fresh name and is
dropped after the test.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore, skip_reset

# Test modules get these helpers as fixtures (`make_engine`, `start_pool`): a tests folder is
# not importable under --import-mode=importlib.


def make_engine(dsn: str, **config: Any) -> PostgresEngine:
    """A Piccolo engine on `dsn`, quiet when the server does not answer (Piccolo warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PostgresEngine(config={"dsn": dsn, **config})


@asynccontextmanager
async def pool_of(engine: PostgresEngine, **options: Any) -> AsyncIterator[PostgresEngine]:
    """Start `engine`'s pool for the duration of the block."""
    await engine.start_connection_pool(**{"min_size": 1, "max_size": 5, **options})
    try:
        yield engine
    finally:
        await engine.close_connection_pool()


@asynccontextmanager
async def fresh_store(engine: PostgresEngine, **options: Any) -> AsyncIterator[PiccoloStore]:
    """A store on a new table (created here, dropped afterwards)."""
    options.setdefault("table", f"anchor_sessions_{secrets.token_hex(4)}")
    store = PiccoloStore(engine, **options)
    await store.create_table()
    try:
        yield store
    finally:
        await store.table.alter().drop_table(if_exists=True)


@pytest.fixture(name="make_engine")
def make_engine_fixture() -> Callable[..., PostgresEngine]:
    """`make_engine(dsn, **config)`: a new Piccolo engine (its pool not started)."""
    return make_engine


@pytest.fixture
def start_pool() -> Callable[..., Any]:
    """`async with start_pool(engine, **pool_options)`: the engine with its pool running."""
    return pool_of


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Piccolo and asyncpg run on asyncio only


@pytest.fixture(scope="session")
def piccolo_engine(postgres_dsn: str) -> PostgresEngine:
    return make_engine(postgres_dsn)


@pytest.fixture
def down_engine(closed_port: int) -> PostgresEngine:
    """An engine pointed at a closed port: every query fails to connect."""
    return make_engine(f"postgresql://postgres@127.0.0.1:{closed_port}/postgres", timeout=2)


@pytest.fixture
async def pooled_engine(piccolo_engine: PostgresEngine) -> AsyncIterator[PostgresEngine]:
    """The run's engine with its pool started (no-op reset, as the README recommends)."""
    async with pool_of(piccolo_engine, reset=skip_reset) as engine:
        yield engine


@pytest.fixture
def table_name() -> str:
    return f"anchor_sessions_{secrets.token_hex(4)}"


@pytest.fixture
def new_store(pooled_engine: PostgresEngine) -> Callable[..., Any]:
    """`async with new_store(**options) as store`: a store on a fresh table of its own."""
    return lambda **options: fresh_store(pooled_engine, **options)
