"""Alembic autogenerate sees the session table on the application's MetaData; with the README's
added line its migration creates the shared table, trigger included."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from anchor_sqlalchemy.migrations import create_trigger
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token, new_token

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


@pytest.fixture
async def app_metadata(
    pg_engine: AsyncEngine, table_name: str
) -> AsyncIterator[tuple[MetaData, sa.Table]]:
    """The application's MetaData with the session table on it; the table dropped afterwards."""
    metadata = MetaData()
    table = sessions_table(metadata, table_name)
    try:
        yield metadata, table
    finally:
        async with pg_engine.begin() as conn:
            await conn.run_sync(table.drop, checkfirst=True)


def _context(conn: Connection, table_name: str) -> MigrationContext:
    # Only this test's table: other tests of the run may have tables of their own meanwhile.
    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name == table_name

    return MigrationContext.configure(
        conn,
        opts={"include_name": include_name, "compare_type": True, "compare_server_default": True},
    )


async def test_autogenerate_writes_a_migration_that_creates_the_table(
    pg_engine: AsyncEngine,
    app_metadata: tuple[MetaData, sa.Table],
    describe: Callable[[str, str], Awaitable[dict[str, Any]]],
    shared_table: Callable[[str], Awaitable[dict[str, Any]]],
) -> None:
    """The rendered migration, with the README's `create_trigger` line, makes the shared
    table and its trigger; autogenerate then proposes nothing."""
    metadata, table = app_metadata

    def diff(conn: Connection) -> list[Any]:
        return list(compare_metadata(_context(conn, table.name), metadata))

    def migration_code(conn: Connection) -> str:
        context = _context(conn, table.name)
        script = produce_migrations(context, metadata)
        assert script.upgrade_ops is not None
        return render_python_code(script.upgrade_ops, migration_context=context)

    def upgrade(conn: Connection, code: str) -> None:
        namespace = {"op": Operations(_context(conn, table.name)), "sa": sa}
        namespace["postgresql"] = postgresql
        namespace["create_trigger"] = create_trigger
        # The rendered commands are the body of a migration's upgrade(), indented as such,
        # followed by the line the README has users add.
        added = f"create_trigger(op, {table.name!r})"
        exec(f"def upgrade():\n    {code}\n    {added}\n\nupgrade()", namespace)

    async with pg_engine.connect() as conn:
        proposed = await conn.run_sync(diff)
        assert [change[0] for change in proposed] == ["add_table", "add_index", "add_index"]
        assert proposed[0][1].name == table.name
        assert {change[1].name for change in proposed[1:]} == {
            f"{table.name}_user_id_idx",
            f"{table.name}_expires_at_idx",
        }
        code = await conn.run_sync(migration_code)
    assert f"op.create_table('{table.name}'" in code
    assert "postgresql.JSONB(astext_type=sa.Text())" in code
    assert "sa.DateTime(timezone=True)" in code
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    columns = [line.strip() for line in code.splitlines() if line.strip().startswith("sa.Col")]
    assert len(columns) == 10
    for line in columns:  # as the README shows them (which wraps the line of `data`)
        assert line in readme or "'data'" in line, line

    async with pg_engine.begin() as conn:
        await conn.run_sync(upgrade, code)
    async with pg_engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert await describe("public", table.name) == await shared_table(table.name)

    store = SQLAlchemyStore(pg_engine, table)  # the migrated table serves the store
    record = SessionRecord(hash_token(new_token()), "alice", T0, T0, {"x": [1, 2]})
    await store.create(record)
    assert await store.get(record.id) == record


async def test_after_create_all_autogenerate_proposes_nothing(
    pg_engine: AsyncEngine, app_metadata: tuple[MetaData, sa.Table]
) -> None:
    metadata, table = app_metadata
    async with pg_engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with pg_engine.connect() as conn:
        proposed = await conn.run_sync(
            lambda c: list(compare_metadata(_context(c, table.name), metadata))
        )
    assert proposed == []
