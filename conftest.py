"""Fixtures shared by every package's tests: a PostgreSQL database for this test run.

Where the server comes from, first that answers:
1. `ANCHOR_TEST_DSN` (used as given, no fallback);
2. 127.0.0.1:5432, database `test`;
3. an embedded throwaway server from the `pgserver` package.
The run gets its own database (random name), dropped at the end. Under `CI=true` a test that
needs PostgreSQL fails when none can be had; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import tempfile
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest

from required import missing

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/test"


async def _answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def start_embedded_server(directory: str) -> Any:
    """Start a private PostgreSQL from the pgserver wheel in `directory`; return the server."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as on CI machines); harmless here.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import pgserver

        return pgserver.get_server(directory, cleanup_mode="stop")


def _with_database(dsn: str, database: str) -> str:
    base, _, query = dsn.partition("?")
    root = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{root}/{database}" + (f"?{query}" if query else "")


def _unavailable(reason: str) -> None:
    missing("PostgreSQL", reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """DSN of a PostgreSQL server's maintenance database (see the module docstring)."""
    explicit = os.environ.get("ANCHOR_TEST_DSN")
    if explicit:
        if not asyncio.run(_answers(explicit)):
            _unavailable(f"ANCHOR_TEST_DSN={explicit!r} does not answer")
        yield explicit
        return
    if asyncio.run(_answers(LOCAL_DSN)):
        yield LOCAL_DSN
        return
    try:
        with tempfile.TemporaryDirectory(prefix="anchor-pg-") as directory:
            server = start_embedded_server(directory)
            try:
                yield server.get_uri()
            finally:
                server.cleanup()
    except Exception as exc:  # pgserver missing, or it could not start
        _unavailable(f"nothing at {LOCAL_DSN} and pgserver failed: {exc!r}")


@contextmanager
def _fresh_database(server_dsn: str) -> Iterator[str]:
    name = f"anchor_test_{secrets.token_hex(6)}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(server_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(server_dsn, name)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server: str) -> Iterator[str]:
    """DSN of a fresh database for this test run, dropped afterwards."""
    with _fresh_database(postgres_server) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def module_postgres_dsn(postgres_server: str) -> Iterator[str]:
    """DSN of a database of this test module's own (for apps that use fixed table names)."""
    with _fresh_database(postgres_server) as dsn:
        yield dsn


@pytest.fixture
async def pg_admin(postgres_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection to the run's database, of the test's own (outside any app pool)."""
    conn = await asyncpg.connect(postgres_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def new_schema(
    pg_admin: asyncpg.Connection,
) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """`await new_schema("prefix")`: a fresh schema, dropped with all it holds after the test."""
    created: list[str] = []

    async def make(prefix: str) -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        await pg_admin.execute(f'CREATE SCHEMA "{name}"')
        created.append(name)
        return name

    try:
        yield make
    finally:
        for name in created:
            await pg_admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def kill_backends(pg_admin: asyncpg.Connection) -> Callable[[str], Awaitable[int]]:
    """`await kill_backends(application_name)`: pg_terminate_backend on every connection that
    set this `application_name` (an app's pool, never the test's own); returns how many."""

    async def kill(application_name: str) -> int:
        killed = await pg_admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            application_name,
        )
        return int(killed)

    return kill


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
