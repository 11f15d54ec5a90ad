"""The PostgreSQL test service itself: reachable, and a database of this run's own."""

import asyncpg
import pytest


@pytest.mark.anyio
async def test_postgres_dsn_is_a_fresh_database_of_this_run(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        name = await conn.fetchval("SELECT current_database()")
        tables = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    assert name.startswith("anchor_test_")
    assert tables == 0
