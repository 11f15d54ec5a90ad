"""The PostgreSQL test service itself: reachable, and a database of this run's own."""

import sys
from pathlib import Path

import asyncpg
import pytest


@pytest.mark.anyio
async def test_postgres_dsn_is_a_database_of_this_run(
    postgres_dsn: str, postgres_server: str
) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        name = await conn.fetchval("SELECT current_database()")
    finally:
        await conn.close()
    server = await asyncpg.connect(postgres_server)
    try:
        server_database = await server.fetchval("SELECT current_database()")
    finally:
        await server.close()
    assert name.startswith("anchor_test_")
    assert name != server_database


@pytest.mark.skipif(
    sys.version_info >= (3, 13), reason="pgserver 0.1.4 ships no wheels for Python 3.13"
)
def test_embedded_fallback_server_starts_answers_and_stops(tmp_path: Path) -> None:
    """The pgserver fallback (used when nothing answers on 127.0.0.1:5432) works here."""
    import asyncio

    from conftest import start_embedded_server

    server = start_embedded_server(str(tmp_path))
    try:
        uri = server.get_uri()

        async def version() -> str:
            conn = await asyncpg.connect(uri)
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        assert asyncio.run(version()).split(".")[0].isdigit()
    finally:
        server.cleanup()
