"""The benchmark's own database: created for a run, loaded fast, counted, dropped at the end."""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import asyncpg

from fastapi_anchor.toolkit import create_table_sql

Sessions = list[tuple[str, str]]  # (session id, user id)


async def load_table(
    dsn: str, table: str, rows: int, sessions: Sessions, created: datetime, expires: datetime
) -> None:
    """The shared table: `sessions` (id, user id) among filler (indexed after), vacuumed."""
    create, *indexes = create_table_sql(table)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(create)
        await conn.copy_records_to_table(
            table,
            records=[(sid, user, "{}", created, expires) for sid, user in sessions],
            columns=["id", "user_id", "data", "created_at", "expires_at"],
        )
        await conn.execute(
            f'INSERT INTO "{table}" (id, user_id, data, created_at, expires_at) '
            "SELECT encode(sha256(convert_to('filler-' || g, 'UTF8')), 'hex'), "
            """'user-' || (g % 100000), '{"theme": "dark"}', $1, $2 """
            "FROM generate_series(1, $3) AS g",
            created,
            expires,
            rows - len(sessions),
        )
        for statement in indexes:
            await conn.execute(statement)
        await conn.execute(f'VACUUM (ANALYZE) "{table}"')
    finally:
        await conn.close()


async def transactions(admin: asyncpg.Connection, database: str) -> int:
    """Transactions so far in `database`: one per statement outside a transaction block."""
    query = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1"
    return int(await admin.fetchval(query, database))


async def wait_disconnected(admin: asyncpg.Connection, database: str) -> None:
    """Wait until no backend is connected to `database` (their counters are then published)."""
    deadline = time.monotonic() + 15
    while await backend_pids(admin, database):
        if time.monotonic() > deadline:
            raise TimeoutError(f"connections to {database} still open after 15 s")
        await asyncio.sleep(0.05)


async def backend_pids(admin: asyncpg.Connection, database: str) -> list[int]:
    """Process ids of the server backends connected to `database`."""
    rows = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    return [int(row[0]) for row in rows]
