"""Upgrading a schema 1 table that holds live sessions, as a user would: no session is lost.

Three starting points, each upgraded the way its user upgrades: the app's earlier migrations
(`piccolo migrations forwards anchor_piccolo`), a table another adapter made with the migrations
marked as run (`--fake`, then forwards), and a table without migrations
(`store.create_table()` at start-up).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore
from fastapi_anchor import Anchor, SessionRecord, hash_token, new_token
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql, notify_channel

from catalog import schema_1_sql

pytestmark = pytest.mark.anyio

Describe = Callable[[asyncpg.Connection, str, str], Awaitable[dict[str, Any]]]

# How code written for schema 1 inserts a session.
OLD_INSERT = (
    'INSERT INTO "{schema}".anchor_sessions (id, user_id, data, created_at, expires_at)'
    " VALUES ($1, $2, $3::jsonb, $4, $5)"
)

SCHEMA_1 = "2026-11-26T15:06:03:492000"  # the app's last migration of schema 1
OLD_COLUMNS = ["id", "user_id", "data", "created_at", "expires_at"]
SECRET = "piccolo-upgrade-secret-" + "x" * 32
NOW = datetime.now(timezone.utc)
CREATED = NOW - timedelta(hours=1, microseconds=7)
EXPIRES = NOW + timedelta(days=1)


@pytest.fixture
async def schemas(new_schema: Callable[[str], Awaitable[str]]) -> tuple[str, str]:
    """The schema to upgrade in, and one for the reference table."""
    return await new_schema("anchor_piccolo_old"), await new_schema("anchor_piccolo_ref")


async def create_old_table(
    way: str, schema: str, pg_admin: asyncpg.Connection, piccolo: Callable[..., str]
) -> None:
    """A schema 1 table in `schema`, made as a user of `way` made it."""
    if way == "migrations":
        piccolo(schema, "migrations", "forwards", "anchor_piccolo", f"--migration_id={SCHEMA_1}")
        return
    for statement in schema_1_sql(schema=schema):
        await pg_admin.execute(statement)
    if way == "faked":  # another adapter made the table; Piccolo is told its migrations ran
        piccolo(
            schema,
            "migrations",
            "forwards",
            "anchor_piccolo",
            f"--migration_id={SCHEMA_1}",
            "--fake",
            answer="y\n",
        )


async def insert_old_sessions(
    pg_admin: asyncpg.Connection, schema: str, count: int
) -> list[tuple[str, SessionRecord]]:
    """Sessions written as schema 1 code writes them: (token, the record it should read as)."""
    sessions = []
    for n in range(count):
        token = new_token()
        old = SessionRecord(
            id=hash_token(token),
            user_id=f"user-{n}",
            created_at=CREATED,
            expires_at=EXPIRES,
            data={"n": n, "é": [n]},
        )
        await pg_admin.execute(
            OLD_INSERT.format(schema=schema),
            old.id,
            old.user_id,
            json.dumps(old.data),
            old.created_at,
            old.expires_at,
        )
        sessions.append((token, old))
    return sessions


async def reference(describe: Describe, conn: asyncpg.Connection, schema: str) -> dict[str, Any]:
    for statement in create_table_sql(DEFAULT_TABLE_NAME, schema):
        await conn.execute(statement)
    return await describe(conn, schema, DEFAULT_TABLE_NAME)


@pytest.mark.parametrize("way", ["migrations", "faked", "create_table"])
async def test_upgrade_keeps_every_session(
    way: str,
    schemas: tuple[str, str],
    pg_admin: asyncpg.Connection,
    pooled_engine: PostgresEngine,
    piccolo: Callable[..., str],
    describe: Describe,
    postgres_dsn: str,
) -> None:
    """After the upgrade the table is the shared schema 2 table, trigger included; every old
    session reads with the documented defaults and its cookie still logs its user in; code
    written for schema 1 can still insert; the trigger announces committed deletes only."""
    schema, expected = schemas
    await create_old_table(way, schema, pg_admin, piccolo)
    old_table = await describe(pg_admin, schema, DEFAULT_TABLE_NAME)
    assert [column["column_name"] for column in old_table["columns"]] == OLD_COLUMNS
    sessions = await insert_old_sessions(pg_admin, schema, 3)

    store = PiccoloStore(pooled_engine, schema=schema)
    if way == "create_table":
        await store.create_table()
    else:
        out = piccolo(schema, "migrations", "forwards", "anchor_piccolo")
        assert "1 migration not yet run" in out, out

    assert await describe(pg_admin, schema, DEFAULT_TABLE_NAME) == await reference(
        describe, pg_admin, expected
    )

    for _, old in sessions:
        got = await store.get(old.id)
        assert got == old
        assert got is not None
        assert got.authenticated_at == got.last_seen_at == got.created_at == CREATED
        assert (got.ip_address, got.user_agent, got.persistent) == (None, None, True)
        assert await store.list_user(old.user_id) == [old]

    anchor = Anchor(store, secret_keys=SECRET)
    async with https_client(session_app(anchor)) as client:
        for token, old in sessions:
            client.cookies.clear()  # the previous answer may have set a (refreshed) cookie
            client.cookies.set("session", anchor.signer.sign(token))
            me = await client.get("/me")
            assert (me.status_code, me.json()) == (200, {"user": old.user_id, "data": old.data})
            seen = await store.get(old.id)
            assert seen is not None
            assert seen.last_seen_at > CREATED  # the app recorded the visit in the new column

    [(_, late)] = await insert_old_sessions(pg_admin, schema, 1)  # an older worker, still up
    assert await store.get(late.id) == late

    await check_notifications(store, pg_admin, postgres_dsn, [old for _, old in sessions])


async def check_notifications(
    store: PiccoloStore, pg_admin: asyncpg.Connection, dsn: str, records: list[SessionRecord]
) -> None:
    """A committed delete is announced with the session's id; a rolled-back one is not."""
    rolled_back, deleted = records[:2]
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener(notify_channel(), lambda *args: heard.put_nowait(args[3]))
        transaction = pg_admin.transaction()
        await transaction.start()
        await pg_admin.execute(
            f"DELETE FROM {store._name} WHERE id = $1",
            rolled_back.id,
        )
        await transaction.rollback()
        assert await store.delete(deleted.id) is True
        with anyio.fail_after(10):
            # Notifications arrive in commit order: a rolled-back one would come first.
            assert await heard.get() == deleted.id
        assert await store.get(rolled_back.id) is not None
    finally:
        await listener.close()


async def test_backwards_returns_to_schema_1_and_keeps_the_sessions(
    schemas: tuple[str, str],
    pg_admin: asyncpg.Connection,
    pooled_engine: PostgresEngine,
    piccolo: Callable[..., str],
    describe: Describe,
) -> None:
    """Undoing the schema 2 migration leaves the schema 1 table (no trigger, no function)
    with every session (their device fields dropped); running it again upgrades once more."""
    schema, expected = schemas
    await create_old_table("migrations", schema, pg_admin, piccolo)
    schema_1 = await describe(pg_admin, schema, DEFAULT_TABLE_NAME)
    piccolo(schema, "migrations", "forwards", "anchor_piccolo")
    store = PiccoloStore(pooled_engine, schema=schema)
    kept = SessionRecord(
        id=hash_token(new_token()),
        user_id="alice",
        created_at=CREATED,
        expires_at=EXPIRES,
        data={"a": 1},
        ip_address="203.0.113.7",
    )
    await store.create(kept)

    piccolo(schema, "migrations", "backwards", "anchor_piccolo", "--auto_agree")
    assert await describe(pg_admin, schema, DEFAULT_TABLE_NAME) == schema_1
    assert schema_1["triggers"] == schema_1["functions"] == []
    rows = await pg_admin.fetch(f'SELECT id FROM "{schema}".anchor_sessions')
    assert [row["id"] for row in rows] == [kept.id]

    piccolo(schema, "migrations", "forwards", "anchor_piccolo")
    upgraded, shared = (
        await describe(pg_admin, schema, DEFAULT_TABLE_NAME),
        await reference(describe, pg_admin, expected),
    )
    for columns in (upgraded["columns"], shared["columns"]):
        for column in columns:  # a dropped column leaves a gap in PostgreSQL's numbering
            del column["ordinal_position"]
    assert upgraded == shared
    # Backwards dropped the device columns with what they held.
    assert await store.get(kept.id) == replace(kept, ip_address=None)
