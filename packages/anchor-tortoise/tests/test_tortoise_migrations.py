"""Tortoise's own migrations (Tortoise 1.x `tortoise makemigrations` / `migrate`) of the model."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql

pytestmark = pytest.mark.anyio

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
    two_schemas: tuple[Any, str, str],
    describe_table: Callable[..., Any],
    tortoise_credentials: dict[str, Any],
    tmp_path: Path,
    fresh_name: Callable[[str], str],
) -> None:
    """The generated migration creates the canonical table; a second makemigrations is empty."""
    conn, ours, reference = two_schemas
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

    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )
