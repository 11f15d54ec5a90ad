"""The table Piccolo creates (by migration or `create_table`) is the shared table, exactly."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore
from anchor_piccolo.piccolo_app import APP_CONFIG
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql, index_name

from catalog import describe_table

pytestmark = pytest.mark.anyio


@pytest.fixture
async def schemas(new_schema: Callable[[str], Awaitable[str]]) -> list[str]:
    """Two fresh PostgreSQL schemas, dropped with everything in them afterwards."""
    return [await new_schema("anchor_piccolo") for _ in range(2)]


async def reference(conn: asyncpg.Connection, schema: str, table: str) -> dict[str, Any]:
    """The shared table made by `create_table_sql`, described."""
    for statement in create_table_sql(table, schema):
        await conn.execute(statement)
    return await describe_table(conn, schema, table)


def piccolo(tmp_path: Path, dsn: str, schema: str, *args: str) -> str:
    """Run the `piccolo` CLI with a piccolo_conf whose engine works in `schema`."""
    module = f"piccolo_conf_{secrets.token_hex(4)}"
    (tmp_path / f"{module}.py").write_text(
        "from piccolo.conf.apps import AppRegistry\n"
        "from piccolo.engine.postgres import PostgresEngine\n\n"
        f"DB = PostgresEngine(config={{'dsn': {dsn!r},"
        f" 'server_settings': {{'search_path': {schema!r}}}}})\n"
        "APP_REGISTRY = AppRegistry(apps=['anchor_piccolo.piccolo_app'])\n"
    )
    path = os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])
    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", *args],
        cwd=tmp_path,
        env={**os.environ, "PICCOLO_CONF": module, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def test_migration_creates_the_shared_table_exactly(
    pg_admin: asyncpg.Connection, schemas: list[str], tmp_path: Path, postgres_dsn: str
) -> None:
    """`piccolo migrations forwards anchor_piccolo` gives what `create_table_sql` gives.

    Same columns in the same order, same types, lengths, nullability and defaults, same
    indexes (columns, method, uniqueness) under the same names.
    """
    migrated, expected = schemas
    piccolo(tmp_path, postgres_dsn, migrated, "migrations", "forwards", "anchor_piccolo")
    assert await describe_table(pg_admin, migrated, DEFAULT_TABLE_NAME) == await reference(
        pg_admin, expected, DEFAULT_TABLE_NAME
    )
    migrated_table = await describe_table(pg_admin, migrated, DEFAULT_TABLE_NAME)
    names = {index["name"] for index in migrated_table["indexes"]}
    assert names == {
        "anchor_sessions_pkey",
        index_name(DEFAULT_TABLE_NAME, "user_id"),
        index_name(DEFAULT_TABLE_NAME, "expires_at"),
    }


async def test_migration_runs_backwards(
    pg_admin: asyncpg.Connection, schemas: list[str], tmp_path: Path, postgres_dsn: str
) -> None:
    """Undoing the app's migrations drops the table; doing them again recreates it."""
    schema = schemas[0]
    exists = "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL"
    piccolo(tmp_path, postgres_dsn, schema, "migrations", "forwards", "anchor_piccolo")
    assert await pg_admin.fetchval(exists, schema, DEFAULT_TABLE_NAME)
    piccolo(
        tmp_path,
        postgres_dsn,
        schema,
        "migrations",
        "backwards",
        "anchor_piccolo",
        "--migration_id=all",
        "--auto_agree",
    )
    assert not await pg_admin.fetchval(exists, schema, DEFAULT_TABLE_NAME)
    piccolo(tmp_path, postgres_dsn, schema, "migrations", "forwards", "anchor_piccolo")
    assert await pg_admin.fetchval(exists, schema, DEFAULT_TABLE_NAME)


async def test_migrations_match_the_table_class() -> None:
    """The migrations describe `AnchorSession` as it is: an auto migration would be empty."""
    statements = await AutoMigrationManager().get_alter_statements(APP_CONFIG)
    assert [s.statements for s in statements if s.statements] == []


async def test_create_table_makes_the_shared_table_exactly(
    pg_admin: asyncpg.Connection, schemas: list[str], pooled_engine: PostgresEngine
) -> None:
    """`PiccoloStore.create_table()` (any name, any schema) matches `create_table_sql`."""
    created, expected = schemas
    table = f"sessions_{secrets.token_hex(4)}"
    store = PiccoloStore(pooled_engine, table=table, schema=created)
    await store.create_table()
    await store.create_table()  # idempotent
    assert await describe_table(pg_admin, created, table) == await reference(
        pg_admin, expected, table
    )
