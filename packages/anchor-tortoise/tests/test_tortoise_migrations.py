"""Tortoise's own migrations (Tortoise 1.x `tortoise makemigrations` / `migrate`) of the model."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from fastapi_anchor.store import DEFAULT_TABLE_NAME, create_table_sql

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

SETTINGS = """
TORTOISE_ORM = {{
    "connections": {{
        "default": {{
            "engine": "tortoise.backends.asyncpg",
            "credentials": {credentials!r},
        }}
    }},
    "apps": {{
        "models": {{
            "models": ["anchor_tortoise.models"],
            "migrations": "{package}.migrations",
        }}
    }},
}}
"""


async def _indexes(conn: Any, schema: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(INDEXES_SQL, schema, DEFAULT_TABLE_NAME)
    return [(r["indexname"], r["indexdef"].replace(schema, "<schema>")) for r in rows]


@pytest.fixture
async def schemas(
    postgres_dsn: str, fresh_name: Callable[[str], str]
) -> AsyncIterator[tuple[Any, str, str]]:
    ours, reference = fresh_name("anchor_tortoise_mig"), fresh_name("anchor_tortoise_ref")
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{ours}"; CREATE SCHEMA "{reference}"')
        yield conn, ours, reference
    finally:
        await conn.execute(
            f'DROP SCHEMA IF EXISTS "{ours}" CASCADE; DROP SCHEMA IF EXISTS "{reference}" CASCADE'
        )
        await conn.close()


def tortoise_cli(project: Path, package: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tortoise", "-c", f"{package}.settings.TORTOISE_ORM", *args],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_makemigrations_and_migrate_create_the_shared_table(
    schemas: tuple[Any, str, str],
    tortoise_credentials: dict[str, Any],
    tmp_path: Path,
    fresh_name: Callable[[str], str],
) -> None:
    """The generated migration creates the canonical table; a second makemigrations is empty."""
    conn, ours, reference = schemas
    for statement in create_table_sql(DEFAULT_TABLE_NAME, reference):
        await conn.execute(statement)
    package = fresh_name("anchor_tortoise_project")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "settings.py").write_text(
        SETTINGS.format(credentials={**tortoise_credentials, "schema": ours}, package=package)
    )

    tortoise_cli(tmp_path, package, "makemigrations")
    (migration,) = (tmp_path / package / "migrations").glob("0001_*.py")
    assert "db_default=SqlDefault(\"'{}'\")" in migration.read_text()
    tortoise_cli(tmp_path, package, "migrate")
    assert "No changes detected" in tortoise_cli(tmp_path, package, "makemigrations")

    assert await conn.fetch(COLUMNS_SQL, ours, DEFAULT_TABLE_NAME) == await conn.fetch(
        COLUMNS_SQL, reference, DEFAULT_TABLE_NAME
    )
    assert await _indexes(conn, ours) == await _indexes(conn, reference)
