"""aerich on a new database: init-db, then the README's empty migration adding the trigger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql

from required import module

aerich = module("aerich", "an optional extra: anchor-tortoise[migrations]")

pytestmark = pytest.mark.anyio

FRESH_DOWNGRADE = """async def downgrade(db: BaseDBAsyncClient) -> str:
    return 'DROP FUNCTION IF EXISTS "anchor_sessions_notify"() CASCADE;'
"""
"""The `downgrade()` the README gives the trigger's migration on a new table."""


async def test_aerich_init_db_and_the_trigger_migration_make_the_shared_table(
    two_schemas: tuple[Any, str, str],
    describe_table: Callable[..., Any],
    tortoise_credentials: dict[str, Any],
    tmp_path: Path,
    readme_block: Callable[[str], str],
) -> None:
    """`init-db` makes the table without its trigger; `migrate --empty` given the README's
    `upgrade()`, then `upgrade`, adds it: the table of `create_table_sql`, and a later
    `migrate` finds nothing to change. Its `downgrade()` removes the trigger alone."""
    conn, ours, reference = two_schemas
    for statement in create_table_sql(DEFAULT_TABLE_NAME, reference):
        await conn.execute(statement)
    config = {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": {**tortoise_credentials, "schema": ours},
            }
        },
        "apps": {"models": {"models": ["anchor_tortoise.models", "aerich.models"]}},
    }
    async with aerich.Command(config, app="models", location=str(tmp_path)) as command:
        assert await command.init_db(safe=True)
        made = await describe_table(conn, ours, DEFAULT_TABLE_NAME)
        assert made["trigger definitions"] == []

        name = await command.migrate("anchor_sessions_trigger", empty=True)
        migration = tmp_path / "models" / name
        generated = migration.read_text()
        block = readme_block("upgrade_table_sql(")
        upgrade = block[: block.index("async def downgrade(")]
        state = generated[generated.index("MODELS_STATE = (") :]
        migration.write_text(f"{upgrade}{FRESH_DOWNGRADE}\n\n{state}")

        assert await command.upgrade() == [name]
        assert not await command.migrate("nothing_changed")
        assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
            conn, reference, DEFAULT_TABLE_NAME
        )

        assert await command.downgrade(-1, delete=False) == [name]
        assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == made

    (initial,) = (tmp_path / "models").glob("0_*.py")
    assert "\"data\" JSONB NOT NULL DEFAULT '{}'" in initial.read_text()
