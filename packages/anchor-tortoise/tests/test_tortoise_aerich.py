"""aerich migrations of the default model give the shared table, and see nothing to change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql

from required import module

aerich = module("aerich", "an optional extra: anchor-tortoise[migrations]")

pytestmark = pytest.mark.anyio


async def test_aerich_init_db_creates_the_shared_table_and_migrate_finds_no_change(
    two_schemas: tuple[Any, str, str],
    describe_table: Callable[..., Any],
    tortoise_credentials: dict[str, Any],
    tmp_path: Path,
) -> None:
    """`aerich init-db` writes and applies the canonical DDL; `aerich migrate` has nothing to do."""
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
        assert not await command.migrate("nothing_changed")

    (initial,) = (tmp_path / "models").glob("0_*.py")
    assert "\"data\" JSONB NOT NULL DEFAULT '{}'" in initial.read_text()
    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )
