"""asyncpg pools on the run's database (`postgres_dsn`), and fresh tables for each test.

Every test gets its own pool on its own event loop (closed afterwards) and every table a fresh
name, dropped after the test.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from anchor_asyncpg import AsyncpgStore, skip_reset
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token, new_token

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # asyncpg runs on asyncio only


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_record() -> Callable[..., SessionRecord]:
    """`make_record(user_id="alice", **fields)`: a valid record with a fresh id."""

    def make(user_id: str = "alice", **fields: Any) -> SessionRecord:
        values: dict[str, Any] = {
            "id": hash_token(new_token()),
            "user_id": user_id,
            "created_at": T0,
            "expires_at": T0 + timedelta(hours=1),
            "data": {"theme": "dark"},
        }
        values.update(fields)
        return SessionRecord(**values)

    return make


@pytest.fixture
def down_dsn() -> str:
    """A DSN on a closed port of 127.0.0.1: every connection attempt is refused."""
    return f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres"


def new_table_name() -> str:
    return f"anchor_sessions_{secrets.token_hex(4)}"


@asynccontextmanager
async def open_pool(dsn: str, **options: Any) -> AsyncIterator[asyncpg.Pool]:
    """A small pool with the no-op reset (as the README recommends); `options` override."""
    pool = await asyncpg.create_pool(
        dsn, **{"min_size": 1, "max_size": 4, "reset": skip_reset, **options}
    )
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def make_pool(postgres_dsn: str) -> Callable[..., Any]:
    """`async with make_pool(**create_pool_options) as pool`: a pool on the run's database."""
    return lambda **options: open_pool(postgres_dsn, **options)


@pytest.fixture
async def pool(postgres_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(postgres_dsn) as pool:
        yield pool


@asynccontextmanager
async def fresh_store(pool: Any, **options: Any) -> AsyncIterator[AsyncpgStore]:
    """A store on `pool` (an asyncpg pool or a DSN) with a table of its own, dropped afterwards."""
    options.setdefault("table", new_table_name())
    store = AsyncpgStore(pool, **options)
    try:
        await store.create_table()
        yield store
    finally:
        try:
            if store.pool is not None:
                await store.pool.execute(f"DROP TABLE IF EXISTS {store.table}")
        finally:
            await store.close()


@pytest.fixture
def new_store(pool: asyncpg.Pool) -> Callable[..., Any]:
    """`async with new_store(**options) as store`: a store on a fresh table of its own."""
    return lambda **options: fresh_store(pool, **options)


@pytest.fixture
def store_on() -> Callable[..., Any]:
    """`async with store_on(pool_or_dsn, **options) as store`: like `new_store`, on any pool."""
    return fresh_store
