"""The shared table's change feed: PostgreSQL itself announces every session that ended or
changed, at commit, whoever wrote it; the schema 1 upgrade keeps every session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from fastapi_anchor.toolkit import (
    DEFAULT_TABLE_NAME,
    create_table_sql,
    notify_channel,
    quote_table,
    upgrade_table_sql,
)

from catalog import describe_table, schema_1_sql

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

NOW = datetime.now(timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def schema(new_schema: object) -> str:
    return await new_schema("anchor_feed")  # type: ignore[operator,no-any-return]


@pytest.fixture
async def listener(postgres_dsn: str) -> AsyncIterator[asyncio.Queue[str]]:
    """A connection listening on the default table's channel; yields a queue of payloads."""
    conn = await asyncpg.connect(postgres_dsn)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(notify_channel(), lambda *args: heard.put_nowait(args[3]))
    try:
        yield heard
    finally:
        await conn.close()


async def drain(heard: asyncio.Queue[str], wait: float = 0.3) -> list[str]:
    """Everything heard within `wait` seconds of quiet."""
    got: list[str] = []
    while True:
        try:
            got.append(await asyncio.wait_for(heard.get(), wait))
        except TimeoutError:
            return got


async def insert(conn: asyncpg.Connection, name: str, session_id: str, user: str) -> None:
    await conn.execute(
        f"INSERT INTO {name} (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        session_id,
        user,
        NOW,
        NOW + timedelta(hours=1),
    )


async def test_changes_are_announced_at_commit_and_never_when_rolled_back(
    pg_admin: asyncpg.Connection, schema: str, listener: asyncio.Queue[str]
) -> None:
    name = quote_table(DEFAULT_TABLE_NAME, schema)
    for statement in create_table_sql(DEFAULT_TABLE_NAME, schema):
        await pg_admin.execute(statement)
    for n in range(5):
        await insert(pg_admin, name, f"{n}" * 64, "alice" if n < 3 else "bob")
    assert await drain(listener) == [], "an INSERT is not a change to announce"

    async with pg_admin.transaction():
        await pg_admin.execute(f"DELETE FROM {name} WHERE id = $1", "0" * 64)
        assert await drain(listener, 0.2) == [], "announced before commit"
    assert await drain(listener) == ["0" * 64]

    tx = pg_admin.transaction()
    await tx.start()
    await pg_admin.execute(f"DELETE FROM {name} WHERE user_id = 'bob'")
    await tx.rollback()
    assert await drain(listener) == [], "a rolled-back delete was announced"

    await pg_admin.execute(f"UPDATE {name} SET last_seen_at = now() WHERE id = $1", "1" * 64)
    assert await drain(listener) == [], "a last-seen write alone is not announced"
    for change in ("expires_at = expires_at + interval '1 hour'", "data = '{\"a\": 1}'"):
        await pg_admin.execute(f"UPDATE {name} SET {change} WHERE id = $1", "1" * 64)
        assert await drain(listener) == ["1" * 64], change
    await pg_admin.execute(f"UPDATE {name} SET data = data WHERE id = $1", "1" * 64)
    assert await drain(listener) == [], "an UPDATE that changes nothing is not announced"

    await pg_admin.execute(f"DELETE FROM {name} WHERE user_id = 'bob'")
    assert sorted(await drain(listener)) == ["3" * 64, "4" * 64]


async def test_the_upgrade_keeps_every_session_and_matches_a_new_table(
    pg_admin: asyncpg.Connection, new_schema: object, listener: asyncio.Queue[str]
) -> None:
    old, fresh = [await new_schema(p) for p in ("anchor_v1", "anchor_v2")]  # type: ignore[operator]
    name = quote_table(DEFAULT_TABLE_NAME, old)
    for statement in schema_1_sql(DEFAULT_TABLE_NAME, old):
        await pg_admin.execute(statement)
    for n in range(3):
        await insert(pg_admin, name, f"{n}" * 64, "alice")
    before = [dict(r) for r in await pg_admin.fetch(f"SELECT * FROM {name} ORDER BY id")]

    async with pg_admin.transaction():
        for statement in upgrade_table_sql(DEFAULT_TABLE_NAME, old):
            await pg_admin.execute(statement)
    for statement in upgrade_table_sql(DEFAULT_TABLE_NAME, old):  # idempotent
        await pg_admin.execute(statement)

    rows = [dict(r) for r in await pg_admin.fetch(f"SELECT * FROM {name} ORDER BY id")]
    assert [{k: r[k] for k in before[0]} for r in rows] == before
    for row in rows:
        assert (row["authenticated_at"], row["last_seen_at"]) == (None, None)
        assert (row["ip_address"], row["user_agent"], row["persistent"]) == (None, None, True)
    for statement in create_table_sql(DEFAULT_TABLE_NAME, fresh):
        await pg_admin.execute(statement)
    assert await describe_table(pg_admin, old, DEFAULT_TABLE_NAME) == await describe_table(
        pg_admin, fresh, DEFAULT_TABLE_NAME
    )

    # An older writer's INSERT (five columns) still works after the upgrade.
    await insert(pg_admin, name, "9" * 64, "alice")
    await pg_admin.execute(f"DELETE FROM {name} WHERE id = $1", "9" * 64)
    assert await drain(listener) == ["9" * 64]
