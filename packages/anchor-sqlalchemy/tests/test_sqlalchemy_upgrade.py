"""A schema 1 table holding live sessions, upgraded with Alembic's command line and the README's
revision file: no session is lost, the table becomes the shared schema 2 one, its trigger
announces changes, and `alembic check` finds nothing left to migrate.

The application's tables live in the default schema: here a schema of the test's own, first on
every connection's `search_path`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore
from anchor_sqlalchemy.migrations import create_trigger, upgrade_table
from fastapi_anchor import Anchor
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.tokens import hash_token, new_token
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, notify_channel, upgrade_table_sql

from catalog import schema_1_sql

pytestmark = pytest.mark.anyio

SECRET = "sqlalchemy-upgrade-secret-0123456789abcdef"

ENV_PY = """
import asyncio

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from anchor_sqlalchemy import sessions_table

metadata = MetaData()
sessions_table(metadata)
target_metadata = metadata
url = context.config.get_main_option("sqlalchemy.url")


def run_migrations(connection=None):
    options = {"url": url, "literal_binds": True} if connection is None else {}
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_server_default=True,
        **options,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online():
    search_path = context.get_x_argument(as_dictionary=True)["search_path"]
    settings = {"server_settings": {"search_path": search_path}}
    engine = create_async_engine(url, connect_args=settings)
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations()
else:
    asyncio.run(run_online())
"""
"""The async `env.py` of Alembic's template, the default schema taken from `-x search_path=`."""

README = Path(__file__).parents[1] / "README.md"


def readme_revision() -> tuple[str, str]:
    """The README's upgrade revision file, made the first revision; and its revision id."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text("utf-8"), re.S | re.M)
    [code] = [block for block in blocks if "upgrade_table(op)" in block]
    [revision] = re.findall(r'^revision = "(\w+)"$', code, re.M)
    first, count = re.subn(r"^down_revision = .*$", "down_revision = None", code, flags=re.M)
    assert count == 1
    return first, revision


class Project:
    """An application's Alembic project: `alembic.ini`, `env.py` and the upgrade revision."""

    def __init__(self, directory: Path, url: str, schema: str) -> None:
        self.schema = schema
        self.ini = directory / "alembic.ini"
        versions = directory / "migrations" / "versions"
        versions.mkdir(parents=True)
        (directory / "migrations" / "env.py").write_text(ENV_PY, "utf-8")
        code, self.revision = readme_revision()
        (versions / f"{self.revision}_anchor_sessions_schema_2.py").write_text(code, "utf-8")
        self.ini.write_text(
            f"[alembic]\nscript_location = {directory / 'migrations'}\nsqlalchemy.url = {url}\n",
            "utf-8",
        )

    def offline_sql(self) -> str:
        """What `alembic upgrade head --sql` writes (in process: it needs no database)."""
        buffer = io.StringIO()
        options = argparse.Namespace(x=[f"search_path={self.schema}"])
        command.upgrade(Config(self.ini, output_buffer=buffer, cmd_opts=options), "head", sql=True)
        return buffer.getvalue()

    async def alembic(self, *arguments: str) -> tuple[int, str]:
        """Run Alembic's command line; return its exit code and what it printed."""
        command = [sys.executable, "-m", "alembic", "-c", str(self.ini)]
        command += ["-x", f"search_path={self.schema}", *arguments]
        done = await anyio.run_process(command, check=False, stderr=asyncio.subprocess.STDOUT)
        return done.returncode, done.stdout.decode()


@pytest.fixture
async def schema(new_schema: Callable[[str], Awaitable[str]]) -> str:
    return await new_schema("anchor_upgrade")


@pytest.fixture
async def app_conn(postgres_dsn: str, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection of the application's, its default schema the test's."""
    conn = await asyncpg.connect(postgres_dsn, server_settings={"search_path": schema})
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def engine(pg_url: str, schema: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(pg_url, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield engine
    finally:
        await engine.dispose()


async def live_sessions(conn: asyncpg.Connection) -> dict[str, SessionRecord]:
    """Three live sessions written by plain SQL into the schema 1 table, by token."""
    now = datetime.now(timezone.utc).replace(microsecond=123456)
    sessions = {}
    for n, user in enumerate(["alice", "alice", "bob"]):
        token = new_token()
        record = SessionRecord(
            hash_token(token),
            user,
            now - timedelta(minutes=10 + n),
            now + timedelta(days=14),  # Anchor's idle timeout: no sliding refresh due
            {"n": n, "name": "Zoë"} if n else {},
        )
        if n:
            await conn.execute(
                "INSERT INTO anchor_sessions (id, user_id, data, created_at, expires_at) "
                "VALUES ($1, $2, $3::jsonb, $4, $5)",
                *(record.id, user, json.dumps(record.data), record.created_at, record.expires_at),
            )
        else:  # data left to the column's default
            await conn.execute(
                "INSERT INTO anchor_sessions (id, user_id, created_at, expires_at) "
                "VALUES ($1, $2, $3, $4)",
                *(record.id, user, record.created_at, record.expires_at),
            )
        sessions[token] = record
    return sessions


async def test_alembic_upgrades_a_live_schema_1_table_to_the_shared_schema_2(
    tmp_path: Path,
    pg_url: str,
    schema: str,
    app_conn: asyncpg.Connection,
    engine: AsyncEngine,
    describe: Callable[[str, str], Awaitable[dict[str, Any]]],
    shared_table: Callable[[str], Awaitable[dict[str, Any]]],
    notifications: Callable[[str], Awaitable[asyncio.Queue[str]]],
) -> None:
    for statement in schema_1_sql():
        await app_conn.execute(statement)
    sessions = await live_sessions(app_conn)
    project = Project(tmp_path, pg_url, schema)

    # The statements the revision runs are the core's, as `--sql` shows without a database.
    offline = project.offline_sql()
    for statement in upgrade_table_sql(DEFAULT_TABLE_NAME):
        assert statement in offline

    code, output = await project.alembic("upgrade", "head")
    assert code == 0, output
    assert await app_conn.fetchval("SELECT version_num FROM alembic_version") == project.revision
    code, output = await project.alembic("check")
    assert code == 0, output
    assert "No new upgrade operations detected." in output
    assert await describe(schema, DEFAULT_TABLE_NAME) == await shared_table(DEFAULT_TABLE_NAME)

    # Every session is still there, read with the defaults of a session written before.
    store = SQLAlchemyStore(engine)
    for record in sessions.values():
        stored = await store.get(record.id)
        assert stored == record
        assert stored.authenticated_at == stored.last_seen_at == record.created_at
        assert (stored.ip_address, stored.user_agent, stored.persistent) == (None, None, True)
    assert sorted(await store.list_user("alice"), key=lambda r: r.created_at) == sorted(
        (r for r in sessions.values() if r.user_id == "alice"), key=lambda r: r.created_at
    )

    # Code of the earlier version (five columns) still writes sessions the new code reads.
    for record in (await live_sessions(app_conn)).values():
        assert await store.get(record.id) == record

    # The browsers' cookies still authenticate; the trigger announces what ends.
    heard = await notifications(notify_channel(DEFAULT_TABLE_NAME))
    (_, kept), (ended_token, ended), _ = sessions.items()
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM anchor_sessions WHERE id = :id"), {"id": kept.id})
        await conn.rollback()
    anchor = Anchor(store, secret_keys=SECRET)
    async with https_client(session_app(anchor)) as client:
        for token, record in sessions.items():
            cookie = {"cookie": f"session={anchor.signer.sign(token)}"}
            me = await client.get("/me", headers=cookie)
            assert me.status_code == 200, me.text
            assert me.json() == {"user": record.user_id, "data": record.data}
        cookie = {"cookie": f"session={anchor.signer.sign(ended_token)}"}
        assert (await client.post("/logout", headers=cookie)).status_code == 200
        assert (await client.get("/me", headers=cookie)).status_code == 401
    # In commit order, and the rolled-back delete sent nothing.
    assert await asyncio.wait_for(heard.get(), 10) == ended.id
    assert heard.empty()
    assert await store.get(kept.id) == kept


async def test_the_helpers_do_nothing_off_postgresql(sqlite_engine: AsyncEngine) -> None:
    """SQLite (development) has no pg_notify: the revision runs there and changes nothing."""

    def migrate(conn: Connection) -> None:
        op = Operations(MigrationContext.configure(conn))
        upgrade_table(op)
        create_trigger(op, "my_sessions", schema="auth")

    async with sqlite_engine.begin() as conn:
        await conn.run_sync(migrate)
        objects = (await conn.execute(text("SELECT name FROM sqlite_master"))).all()
    assert objects == []
