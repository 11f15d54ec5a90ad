"""Piccolo engines on the run's database (`postgres_dsn`), and fresh tables for each test.

The engine is built once (building one connects to check the server version); each test
starts its own pool on its own event loop and closes it. Every table has a fresh name and is
dropped after the test.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore, skip_reset

from catalog import describe_table

# Test modules get these helpers as fixtures (`make_engine`, `start_pool`, `piccolo`,
# `describe`): a tests folder is not importable under --import-mode=importlib.

APP = "anchor_piccolo.piccolo_app"

TRIGGERS_SQL = """
SELECT tgname AS name, replace(pg_get_triggerdef(oid), quote_ident($1) || '.', '') AS definition
FROM pg_trigger WHERE tgrelid = format('%I.%I', $1::text, $2::text)::regclass AND NOT tgisinternal
ORDER BY tgname
"""

FUNCTIONS_SQL = """
SELECT p.proname AS name,
       replace(pg_get_functiondef(p.oid), quote_ident($1) || '.', '') AS definition
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = $1 ORDER BY p.proname
"""


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


async def describe(conn: asyncpg.Connection, schema: str, table: str) -> dict[str, Any]:
    """`catalog.describe_table`, plus the definition of each trigger on the table and of each
    function in `schema` (the schema's name left out)."""
    described = await describe_table(conn, schema, table)
    for key, sql in (("triggers", TRIGGERS_SQL), ("functions", FUNCTIONS_SQL)):
        args = (schema, table) if key == "triggers" else (schema,)
        described[key] = [dict(row) for row in await conn.fetch(sql, *args)]
    return described


@pytest.fixture(name="describe")
def describe_fixture() -> Callable[[asyncpg.Connection, str, str], Awaitable[dict[str, Any]]]:
    """`await describe(conn, schema, table)`: the table as the catalogs hold it, with triggers."""
    return describe


@pytest.fixture
def piccolo(tmp_path: Path, postgres_dsn: str) -> Callable[..., str]:
    """`piccolo(schema, *args, apps=[APP], answer=None)`: run the `piccolo` command line.

    Its piccolo_conf (written in `tmp_path`, which is also the working directory and on the
    path) has an engine working in `schema` and registers `apps`; `answer` is typed at its
    prompts. Returns the output; fails the test if the command fails.
    """

    def run(
        schema: str, *args: str, apps: Sequence[str] = (APP,), answer: str | None = None
    ) -> str:
        module = f"piccolo_conf_{secrets.token_hex(4)}"
        (tmp_path / f"{module}.py").write_text(
            "from piccolo.conf.apps import AppRegistry\n"
            "from piccolo.engine.postgres import PostgresEngine\n\n"
            f"DB = PostgresEngine(config={{'dsn': {postgres_dsn!r},"
            f" 'server_settings': {{'search_path': {schema!r}}}}})\n"
            f"APP_REGISTRY = AppRegistry(apps={list(apps)!r})\n"
        )
        path = os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])
        result = subprocess.run(
            [sys.executable, "-m", "piccolo.main", *args],
            cwd=tmp_path,
            env={**os.environ, "PICCOLO_CONF": module, "PYTHONPATH": path},
            input=answer or "",  # a prompt nobody answers fails, never hangs
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    return run
