"""The package README's SQL and wiring example are real: run them against PostgreSQL."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from fastapi_anchor.toolkit import create_table_sql, upgrade_table_sql

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)


def test_readme_sql_is_the_core_sql() -> None:
    """People who use a migration tool copy this SQL: the shared table's DDL, and its upgrade."""
    sql = blocks("sql")[:2]
    assert sql[0] == ";\n".join(create_table_sql()) + ";\n"
    assert sql[1] == ";\n".join(upgrade_table_sql()) + ";\n"


@pytest.fixture
async def schema(postgres_dsn: str) -> AsyncIterator[str]:
    """A schema of the test's own, so the example's default table name clashes with nothing."""
    name = f"readme_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        yield name
    finally:
        await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
        await conn.close()


@pytest.mark.anyio
async def test_readme_wiring_example_logs_in_and_out(postgres_dsn: str, schema: str) -> None:
    """The wiring example, on the test database (in a schema of its own), logs in and out."""
    example = blocks("python")[0]
    placeholder = "postgresql://user:pass@localhost/db"
    assert placeholder in example
    separator = "&" if "?" in postgres_dsn else "?"
    code = example.replace(placeholder, f"{postgres_dsn}{separator}search_path={schema}")
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, "README.md", "exec"), namespace)
    app = namespace["app"]
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://testserver") as client,
    ):
        assert (await client.get("/me")).status_code == 401
        assert (await client.post("/login")).status_code == 200
        assert (await client.get("/me")).json() == {"user": "alice"}
        headers = {"origin": "https://testserver"}
        assert (await client.post("/logout", headers=headers)).status_code == 200
        assert (await client.get("/me")).status_code == 401
        pool = namespace["store"].pool
        assert await pool.fetchval(f'SELECT count(*) FROM "{schema}".anchor_sessions') == 0
    assert namespace["store"].pool is None  # the lifespan closed the store's own pool
