"""The table Piccolo creates (by migration or `create_table`) is the shared table, exactly."""

from __future__ import annotations

import shutil
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

pytestmark = pytest.mark.anyio

Describe = Callable[[asyncpg.Connection, str, str], Awaitable[dict[str, Any]]]


@pytest.fixture
async def schemas(new_schema: Callable[[str], Awaitable[str]]) -> list[str]:
    """Two fresh PostgreSQL schemas, dropped with everything in them afterwards."""
    return [await new_schema("anchor_piccolo") for _ in range(2)]


async def reference(
    describe: Describe, conn: asyncpg.Connection, schema: str, table: str
) -> dict[str, Any]:
    """The shared table made by `create_table_sql`, described."""
    for statement in create_table_sql(table, schema):
        await conn.execute(statement)
    return await describe(conn, schema, table)


async def test_migration_creates_the_shared_table_exactly(
    pg_admin: asyncpg.Connection,
    schemas: list[str],
    piccolo: Callable[..., str],
    describe: Describe,
) -> None:
    """`piccolo migrations forwards anchor_piccolo` gives what `create_table_sql` gives.

    Same columns in the same order, same types, lengths, nullability and defaults, same
    indexes (columns, method, uniqueness) under the same names, the same trigger function and
    triggers.
    """
    migrated, expected = schemas
    piccolo(migrated, "migrations", "forwards", "anchor_piccolo")
    migrated_table = await describe(pg_admin, migrated, DEFAULT_TABLE_NAME)
    assert migrated_table == await reference(describe, pg_admin, expected, DEFAULT_TABLE_NAME)
    names = {index["name"] for index in migrated_table["indexes"]}
    assert names == {
        "anchor_sessions_pkey",
        index_name(DEFAULT_TABLE_NAME, "user_id"),
        index_name(DEFAULT_TABLE_NAME, "expires_at"),
    }
    assert [t["name"] for t in migrated_table["triggers"]] == [
        "anchor_sessions_changed",
        "anchor_sessions_ended",
    ]


async def test_migration_runs_backwards(
    pg_admin: asyncpg.Connection, schemas: list[str], piccolo: Callable[..., str]
) -> None:
    """Undoing the app's migrations drops the table and its function; redoing recreates them."""
    schema = schemas[0]
    exists = "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL"
    functions = "SELECT count(*) FROM pg_proc WHERE pronamespace = $1::regnamespace"
    piccolo(schema, "migrations", "forwards", "anchor_piccolo")
    assert await pg_admin.fetchval(exists, schema, DEFAULT_TABLE_NAME)
    assert await pg_admin.fetchval(functions, schema) == 1
    piccolo(
        schema, "migrations", "backwards", "anchor_piccolo", "--migration_id=all", "--auto_agree"
    )
    assert not await pg_admin.fetchval(exists, schema, DEFAULT_TABLE_NAME)
    assert await pg_admin.fetchval(functions, schema) == 0
    piccolo(schema, "migrations", "forwards", "anchor_piccolo")
    assert await pg_admin.fetchval(exists, schema, DEFAULT_TABLE_NAME)
    assert await pg_admin.fetchval(functions, schema) == 1


async def test_migrations_match_the_table_class() -> None:
    """The migrations describe `AnchorSession` as it is: an auto migration would be empty."""
    statements = await AutoMigrationManager().get_alter_statements(APP_CONFIG)
    assert [s.statements for s in statements if s.statements] == []


async def test_a_new_auto_migration_finds_nothing_to_do(
    schemas: list[str], piccolo: Callable[..., str], tmp_path: Path
) -> None:
    """`piccolo migrations new anchor_piccolo --auto` writes no migration.

    Run on a copy of the app, so that a failure cannot write into the package.
    """
    folder = tmp_path / "copied_migrations"
    source = Path(APP_CONFIG.resolved_migrations_folder_path)
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "copied_app.py").write_text(
        "from dataclasses import replace\n\n"
        "from anchor_piccolo.piccolo_app import APP_CONFIG as ORIGINAL\n\n"
        f"APP_CONFIG = replace(ORIGINAL, migrations_folder_path={str(folder)!r})\n"
    )
    before = sorted(path.name for path in folder.glob("*.py"))
    out = piccolo(schemas[0], "migrations", "new", "anchor_piccolo", "--auto", apps=["copied_app"])
    assert "No changes detected" in out, out
    assert sorted(path.name for path in folder.glob("*.py")) == before


async def test_create_table_makes_the_shared_table_exactly(
    pg_admin: asyncpg.Connection,
    schemas: list[str],
    pooled_engine: PostgresEngine,
    describe: Describe,
) -> None:
    """`PiccoloStore.create_table()` (any name, any schema) matches `create_table_sql`."""
    created, expected = schemas
    table = "sessions_custom"
    store = PiccoloStore(pooled_engine, table=table, schema=created)
    await store.create_table()
    await store.create_table()  # idempotent
    assert await describe(pg_admin, created, table) == await reference(
        describe, pg_admin, expected, table
    )


async def test_adopting_a_schema_2_table_another_adapter_made(
    pg_admin: asyncpg.Connection,
    schemas: list[str],
    piccolo: Callable[..., str],
    describe: Describe,
) -> None:
    """The README's steps for a table that exists already: fake the two migrations that
    create it, run the rest. On a schema 2 table that changes nothing."""
    adopted, expected = schemas
    made = await reference(describe, pg_admin, adopted, DEFAULT_TABLE_NAME)
    await pg_admin.execute(
        f'INSERT INTO "{adopted}".anchor_sessions (id, user_id, created_at, expires_at)'
        " VALUES ('s', 'alice', now(), now())"
    )
    piccolo(
        adopted,
        "migrations",
        "forwards",
        "anchor_piccolo",
        "--migration_id=2026-11-26T15:06:03:492000",
        "--fake",
        answer="y\n",
    )
    piccolo(adopted, "migrations", "forwards", "anchor_piccolo")
    assert await describe(pg_admin, adopted, DEFAULT_TABLE_NAME) == made
    assert made == await reference(describe, pg_admin, expected, DEFAULT_TABLE_NAME)
    assert await pg_admin.fetchval(f'SELECT count(*) FROM "{adopted}".anchor_sessions') == 1
    out = piccolo(adopted, "migrations", "forwards", "anchor_piccolo")
    assert "No migrations need to be run" in out, out
