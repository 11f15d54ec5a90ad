"""Tortoise set-up for this package's tests, on the run's database from `postgres_dsn`.

Every test gets its own table (a fresh name) or its own PostgreSQL schema, its own
`TortoiseContext`, and drops what it created; no test creates a database.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import sys
import textwrap
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.context import TortoiseContext
from tortoise.models import Model

from anchor_tortoise import TortoiseStore, credentials_from_dsn, sessions_table, skip_reset
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token, new_token
from fastapi_anchor.toolkit import load_data, quote_table

import catalog


def tortoise_config(credentials: dict[str, Any], models: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": {**credentials, **extra},
            }
        },
        "apps": {"anchor": {"models": models, "default_connection": "default"}},
    }


@contextmanager
def models_module(model: type[Model]) -> Iterator[str]:
    """Register an importable module holding only `model`; give its name for `"models"`."""
    name = f"anchor_tortoise_test_models_{secrets.token_hex(4)}"
    module = types.ModuleType(name)
    module.__dict__[model.__name__] = model
    module.__dict__["__models__"] = [model]
    sys.modules[name] = module
    try:
        yield name
    finally:
        del sys.modules[name]


@pytest.fixture(scope="session")
def tortoise_credentials(postgres_dsn: str) -> dict[str, Any]:
    return credentials_from_dsn(postgres_dsn)


@pytest.fixture
def fresh_name() -> Callable[[str], str]:
    def make(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(4)}"

    return make


async def run_sql(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class TortoiseTable:
    """A sessions table made by `generate_schemas` in a live Tortoise context."""

    context: TortoiseContext
    model: type[Model]
    table: str
    schema: str | None

    def store(self) -> TortoiseStore:
        return TortoiseStore("default", model=self.model)


@pytest.fixture
def schema_name(fresh_name: Callable[[str], str], postgres_dsn: str) -> Iterator[str]:
    """A PostgreSQL schema name for one test; the schema (if created) is dropped afterwards."""
    name = fresh_name("anchor_tortoise")
    yield name
    asyncio.run(run_sql(postgres_dsn, f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@asynccontextmanager
async def _live_table(
    credentials: dict[str, Any], model: type[Model], drop_sql: str, dsn: str, **extra: Any
) -> AsyncIterator[TortoiseContext]:
    """Init a Tortoise context on `model`, generate its schema and add the trigger the way
    the README says (`generate_schemas`, then `create_table`); close and drop on exit."""
    with models_module(model) as module:
        async with TortoiseContext() as context:
            try:
                await context.init(config=tortoise_config(credentials, [module], **extra))
                await context.generate_schemas()
                await TortoiseStore(model=model).create_table()
                yield context
            finally:
                await context.close_connections()
                await run_sql(dsn, drop_sql)


@pytest.fixture
async def tortoise_table(
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    fresh_name: Callable[[str], str],
) -> AsyncIterator[TortoiseTable]:
    """A fresh, empty sessions table in public, created by Tortoise, dropped afterwards."""
    table = fresh_name("anchor_sessions_tt")
    model = sessions_table(table)
    drop = f'DROP TABLE IF EXISTS "{table}"'
    async with _live_table(tortoise_credentials, model, drop, postgres_dsn) as context:
        yield TortoiseTable(context, model, table, None)


@pytest.fixture
async def tortoise_schema_table(
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    fresh_name: Callable[[str], str],
) -> AsyncIterator[TortoiseTable]:
    """Like `tortoise_table`, in a schema of its own (`Meta.schema`), pool without reset query."""
    schema = fresh_name("anchor_tortoise")
    model = sessions_table("anchor_sessions", schema=schema)
    drop = f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'
    async with _live_table(
        tortoise_credentials, model, drop, postgres_dsn, reset=skip_reset
    ) as context:
        yield TortoiseTable(context, model, "anchor_sessions", schema)


@pytest.fixture
async def unavailable_tortoise(
    tortoise_credentials: dict[str, Any], closed_port: int, fresh_name: Callable[[str], str]
) -> AsyncIterator[TortoiseTable]:
    """A Tortoise context whose connection points at a closed port: the database is down."""
    table = fresh_name("anchor_sessions_down")
    model = sessions_table(table)
    credentials = {**tortoise_credentials, "host": "127.0.0.1", "port": closed_port}
    with models_module(model) as module:
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(credentials, [module], timeout=2))
            yield TortoiseTable(context, model, table, None)


RowReader = Callable[[type[Model], str], Awaitable[SessionRecord | None]]


@pytest.fixture
def read_row(postgres_dsn: str) -> RowReader:
    """Read a row as stored, on a plain asyncpg connection (bypassing Tortoise)."""

    async def read(model: type[Model], session_id: str) -> SessionRecord | None:
        return await _read_row(postgres_dsn, model, session_id)

    return read


@pytest.fixture
async def tortoise_no_table(
    tortoise_credentials: dict[str, Any], fresh_name: Callable[[str], str]
) -> AsyncIterator[TortoiseTable]:
    """A live Tortoise context whose sessions model's table was never created."""
    table = fresh_name("anchor_sessions_never")
    model = sessions_table(table)
    with models_module(model) as module:
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(tortoise_credentials, [module]))
            yield TortoiseTable(context, model, table, None)


async def _read_row(dsn: str, model: type[Model], session_id: str) -> SessionRecord | None:
    table = quote_table(model._meta.db_table, model._meta.schema)
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT id, user_id, created_at, expires_at, data::text AS data, authenticated_at, "
            f"last_seen_at, ip_address, user_agent, persistent FROM {table} WHERE id = $1",
            session_id,
        )
    finally:
        await conn.close()
    if row is None:
        return None
    return SessionRecord(**{**row, "data": load_data(row["data"])})


@pytest.fixture
def register_model() -> Callable[[type[Model]], AbstractContextManager[str]]:
    """`with register_model(Model) as module:` gives an importable module name for `"models"`."""
    return models_module


@pytest.fixture
def live_table() -> Callable[..., AbstractAsyncContextManager[TortoiseContext]]:
    """`async with live_table(credentials, model, drop_sql, dsn, **extra) as context:`."""
    return _live_table


class TcpProxy:
    """A loopback TCP proxy to PostgreSQL that a test can stop (cutting every connection)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._writers.difference_update((writer, up_writer))


@pytest.fixture
async def tcp_proxy() -> AsyncIterator[Callable[[str, int], Awaitable[TcpProxy]]]:
    """`proxy = await tcp_proxy(host, port)`: a started proxy, stopped after the test."""
    proxies: list[TcpProxy] = []

    async def make(host: str, port: int) -> TcpProxy:
        proxy = TcpProxy(host, port)
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        await proxy.stop()


T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


@pytest.fixture
def new_record() -> Callable[..., SessionRecord]:
    """`new_record(user_id="alice", **fields)`: a valid record with a fresh id, created at T0."""

    def make(user_id: str = "alice", **changes: Any) -> SessionRecord:
        fields: dict[str, Any] = {
            "id": hash_token(new_token()),
            "user_id": user_id,
            "created_at": T0,
            "expires_at": T0 + timedelta(hours=1),
            "data": {},
        }
        fields.update(changes)
        return SessionRecord(**fields)

    return make


Describe = Callable[[Any, str, str], Awaitable[dict[str, Any]]]

# What `catalog.describe_table` names but does not define: each trigger's definition and the
# notify function's source (the schema name, the one expected difference, taken out).
TRIGGERS_SQL = """
SELECT tgname AS name, replace(pg_get_triggerdef(oid), quote_ident($1) || '.', '') AS definition
FROM pg_trigger WHERE tgrelid = $2::regclass AND NOT tgisinternal ORDER BY tgname
"""

FUNCTIONS_SQL = """
SELECT p.proname AS name, l.lanname AS language, p.prosrc AS source,
       pg_get_function_result(p.oid) AS result
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname = $1 AND p.proname = $2 || '_notify'
"""


async def describe_with_triggers(conn: Any, schema: str, table: str) -> dict[str, Any]:
    """`catalog.describe_table` plus the triggers' definitions and the notify function."""
    described = await catalog.describe_table(conn, schema, table)
    name = quote_table(table, schema)
    described["trigger definitions"] = [
        dict(row) for row in await conn.fetch(TRIGGERS_SQL, schema, name)
    ]
    described["functions"] = [dict(row) for row in await conn.fetch(FUNCTIONS_SQL, schema, table)]
    return described


@pytest.fixture
def describe_table() -> Describe:
    """`await describe_table(conn, schema, table)`: the table as the catalogs hold it,
    triggers and the notify function included."""
    return describe_with_triggers


@pytest.fixture
async def two_schemas(
    pg_admin: asyncpg.Connection, new_schema: Callable[[str], Awaitable[str]]
) -> tuple[Any, str, str]:
    """An asyncpg connection and two fresh schemas (ours, reference), dropped afterwards."""
    return (
        pg_admin,
        await new_schema("anchor_tortoise_ours"),
        await new_schema("anchor_tortoise_ref"),
    )


README = Path(__file__).parents[1] / "README.md"
PYTHON_BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.DOTALL | re.MULTILINE)


def readme_python_block(containing: str) -> str:
    """The one ```python block of the package README holding `containing`, dedented."""
    blocks = [textwrap.dedent(m.group(2)) for m in PYTHON_BLOCK.finditer(README.read_text())]
    (block,) = [b for b in blocks if containing in b]
    return block


@pytest.fixture
def readme_block() -> Callable[[str], str]:
    """`readme_block("text")`: the README's python block holding "text", as users copy it."""
    return readme_python_block


def run_cli(cwd: Path, module: str, *args: str) -> str:
    """Run `python -m <module> <args>` in `cwd` as a user's shell would; return its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        # No bytecode: a test rewrites settings and migrations within the same second.
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def cli() -> Callable[..., str]:
    """`cli(cwd, "aerich", "upgrade")`: a command line tool run in a subprocess."""
    return run_cli
