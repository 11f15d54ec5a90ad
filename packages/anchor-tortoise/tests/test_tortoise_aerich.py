"""aerich migrations of the default model give the shared table, and see nothing to change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from fastapi_anchor.store import DEFAULT_TABLE_NAME, create_table_sql

aerich = pytest.importorskip(
    "aerich", reason="aerich is an optional extra: anchor-tortoise[migrations]"
)

pytestmark = pytest.mark.anyio

COLUMNS_SQL = """
SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2
ORDER BY column_name
"""

INDEXES_SQL = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname
"""


async def _indexes(conn: Any, schema: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(INDEXES_SQL, schema, DEFAULT_TABLE_NAME)
    return [(r["indexname"], r["indexdef"].replace(schema, "<schema>")) for r in rows]


@pytest.fixture
async def schemas(
    postgres_dsn: str, fresh_name: Callable[[str], str]
) -> AsyncIterator[tuple[Any, str, str]]:
    ours, reference = fresh_name("anchor_tortoise_aerich"), fresh_name("anchor_tortoise_ref")
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{ours}"; CREATE SCHEMA "{reference}"')
        yield conn, ours, reference
    finally:
        await conn.execute(
            f'DROP SCHEMA IF EXISTS "{ours}" CASCADE; DROP SCHEMA IF EXISTS "{reference}" CASCADE'
        )
        await conn.close()


async def test_aerich_init_db_creates_the_shared_table_and_migrate_finds_no_change(
    schemas: tuple[Any, str, str], tortoise_credentials: dict[str, Any], tmp_path: Path
) -> None:
    """`aerich init-db` writes and applies the canonical DDL; `aerich migrate` has nothing to do."""
    conn, ours, reference = schemas
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
    assert await conn.fetch(COLUMNS_SQL, ours, DEFAULT_TABLE_NAME) == await conn.fetch(
        COLUMNS_SQL, reference, DEFAULT_TABLE_NAME
    )
    assert await _indexes(conn, ours) == await _indexes(conn, reference)
