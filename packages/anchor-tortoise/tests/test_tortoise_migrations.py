"""Tortoise's own migrations (Tortoise 1.x `tortoise makemigrations` / `migrate`) of the model,
with the README's migration adding the trigger."""

from __future__ import annotations

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


async def test_makemigrations_the_trigger_migration_and_migrate_make_the_shared_table(
    two_schemas: tuple[Any, str, str],
    describe_table: Callable[..., Any],
    tortoise_credentials: dict[str, Any],
    tmp_path: Path,
    fresh_name: Callable[[str], str],
    cli: Callable[..., str],
    readme_block: Callable[[str], str],
) -> None:
    """The generated migration creates the table; the README's empty migration adds the
    trigger: the table of `create_table_sql`. A later makemigrations is empty."""
    conn, ours, reference = two_schemas
    for statement in create_table_sql(DEFAULT_TABLE_NAME, reference):
        await conn.execute(statement)
    package = fresh_name("anchor_tortoise_project")
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "settings.py").write_text(
        SETTINGS.format(credentials={**tortoise_credentials, "schema": ours}, package=package)
    )

    def tortoise(*args: str) -> str:
        return cli(tmp_path, "tortoise", "-c", f"{package}.settings.TORTOISE_ORM", *args)

    tortoise("makemigrations")
    migrations = tmp_path / package / "migrations"
    (initial,) = migrations.glob("0001_*.py")
    assert "db_default=SqlDefault(\"'{}'\")" in initial.read_text()
    assert initial.name == "0001_initial.py"  # the README's dependency
    tortoise("makemigrations", "--empty", "models", "--name", "anchor_sessions_trigger")
    (trigger,) = migrations.glob("0002_anchor_sessions_trigger.py")
    trigger.write_text(readme_block("ops.RunSQL("))
    tortoise("migrate")
    assert "No changes detected" in tortoise("makemigrations")

    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )
