"""A schema 1 table holding live sessions, upgraded the ways the README shows: nothing is lost.

Each upgrade runs on a table in a schema of the test's own, named `anchor_sessions` as in an
application, next to a reference table made by `create_table_sql` in a second schema; the two
must then be identical in PostgreSQL's catalogs.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from anchor_asyncpg import AsyncpgStore
from fastapi_anchor import Anchor
from fastapi_anchor.store import StoreRejected, StoreUnavailable, TableMissing
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.tokens import hash_token, new_token
from fastapi_anchor.toolkit import create_table_sql, notify_channel, upgrade_table_sql, utc_now

from catalog import describe_table, schema_1_sql

pytestmark = pytest.mark.anyio

TABLE = "anchor_sessions"
SECRET = "test-secret-for-anchor-asyncpg-0123456789"
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

# How the schema 1 store wrote a session (it stays the INSERT of older workers mid-deploy).
SCHEMA_1_INSERT = (
    "INSERT INTO {name} (id, user_id, data, created_at, expires_at) "
    "VALUES ($1, $2, $3::text::jsonb, $4, $5)"
)

TRIGGERS_SQL = """
SELECT t.tgname, replace(pg_get_triggerdef(t.oid), quote_ident($1) || '.', '') AS definition,
       replace(pg_get_functiondef(t.tgfoid), quote_ident($1) || '.', '') AS function
FROM pg_trigger t WHERE t.tgrelid = format('%I.%I', $1::text, $2::text)::regclass
AND NOT t.tgisinternal ORDER BY t.tgname
"""


def code_block(language: str, containing: str) -> str:
    """The README's fenced block of `language` that contains `containing`."""
    found = re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)
    (block,) = [b for b in found if containing in b]
    return str(block)


def with_search_path(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"


@dataclass(frozen=True)
class OldSession:
    token: str
    user_id: str
    data: str
    created_at: datetime
    expires_at: datetime

    @property
    def id(self) -> str:
        return hash_token(self.token)


def old_sessions() -> list[OldSession]:
    """Live sessions of two users, created an hour ago and two days ago."""
    now = utc_now()
    return [
        OldSession(new_token(), user, data, now - age, now + timedelta(days=1))
        for user, data, age in [
            ("alice", '{"role": "admin", "n": [1, 2.5]}', timedelta(hours=1)),
            ("alice", "{}", timedelta(days=2, microseconds=7)),
            ("bob", '{"name": "Zoë"}', timedelta(hours=1, seconds=3)),
        ]
    ]


async def make_schema_1_table(conn: Any, schema: str, sessions: list[OldSession]) -> None:
    name = f'"{schema}"."{TABLE}"'
    for statement in schema_1_sql(TABLE, schema):
        await conn.execute(statement)
    for s in sessions:
        insert = SCHEMA_1_INSERT.format(name=name)
        await conn.execute(insert, s.id, s.user_id, s.data, s.created_at, s.expires_at)


@pytest.fixture
async def schemas(pool: asyncpg.Pool) -> AsyncIterator[tuple[str, str]]:
    """Two fresh schemas: the application's, and one for the reference table."""
    names = (f"app_{secrets.token_hex(4)}", f"reference_{secrets.token_hex(4)}")
    for name in names:
        await pool.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield names
    finally:
        for name in names:
            await pool.execute(f'DROP SCHEMA "{name}" CASCADE')


async def upgrade_with_upgrade_table(dsn: str, schema: str, tmp_path: Path) -> None:
    """The README's Python snippet, run as a user would run it, on the app's schema."""
    namespace: dict[str, Any] = {"__name__": "upgrade_script"}
    exec(compile(code_block("python", "upgrade_table()"), "README.md", "exec"), namespace)
    await namespace["upgrade"](with_search_path(dsn, schema))


async def upgrade_with_create_table(dsn: str, schema: str, tmp_path: Path) -> None:
    """The new version's start-up: `create_table()` in the lifespan."""
    async with AsyncpgStore(dsn, schema=schema) as store:
        await store.create_table()


async def upgrade_with_printed_sql(dsn: str, schema: str, tmp_path: Path) -> None:
    """The README's `python -c` command, then its output run in one transaction (psql -1)."""
    (command,) = code_block("console", "upgrade_table_sql").strip().splitlines()
    assert command.startswith("python ")
    command = shlex.quote(sys.executable) + command.removeprefix("python")
    with anyio.fail_after(60):
        await anyio.run_process(["bash", "-c", command], cwd=tmp_path)  # raises unless it exits 0
    script = (tmp_path / "upgrade.sql").read_text(encoding="utf-8")
    assert script == ";\n".join(upgrade_table_sql()) + ";\n"
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        async with conn.transaction():
            await conn.execute(script)
    finally:
        await conn.close()


Upgrade = Callable[[str, str, Path], Awaitable[None]]


@pytest.mark.parametrize(
    "upgrade",
    [upgrade_with_upgrade_table, upgrade_with_create_table, upgrade_with_printed_sql],
    ids=["store.upgrade_table()", "store.create_table()", "printed SQL"],
)
async def test_upgrade_keeps_every_live_session(
    postgres_dsn: str,
    pool: asyncpg.Pool,
    schemas: tuple[str, str],
    upgrade: Upgrade,
    tmp_path: Path,
) -> None:
    """Every session of a schema 1 table survives, reads with the defaults and still logs in.

    After the upgrade the table is the one `create_table_sql` makes, and its trigger
    announces committed changes only.
    """
    schema, reference = schemas
    sessions = old_sessions()
    async with pool.acquire() as conn:
        await make_schema_1_table(conn, schema, sessions)
    storage = await relfilenode(pool, schema)
    await upgrade(postgres_dsn, schema, tmp_path)
    assert await relfilenode(pool, schema) == storage, "the upgrade rewrote the table"

    store = AsyncpgStore(pool, schema=schema)
    for s in sessions:
        record = await store.get(s.id)
        assert record is not None, "a session was lost"
        assert (record.user_id, record.data) == (s.user_id, json.loads(s.data))
        assert (record.created_at, record.expires_at) == (s.created_at, s.expires_at)
        assert record.authenticated_at == record.last_seen_at == record.created_at
        assert (record.ip_address, record.user_agent, record.persistent) == (None, None, True)
        listed = {r.id: r for r in await store.list_user(s.user_id)}
        assert listed[s.id] == record
    stored_times = await pool.fetch(f"SELECT authenticated_at, last_seen_at FROM {store.table}")
    assert {tuple(row) for row in stored_times} == {(None, None)}  # read as created_at

    await old_cookies_still_log_in(store, sessions)
    await assert_same_table(pool, schema, reference)
    await assert_trigger_notifies(postgres_dsn, pool, store)

    # An older worker still running mid-deploy writes the five columns; the row reads fine.
    late = old_sessions()[0]
    await pool.execute(
        SCHEMA_1_INSERT.format(name=store.table),
        late.id,
        late.user_id,
        late.data,
        late.created_at,
        late.expires_at,
    )
    record = await store.get(late.id)
    assert record is not None
    assert record.authenticated_at == record.last_seen_at == late.created_at

    await upgrade(postgres_dsn, schema, tmp_path)  # idempotent: running it again changes nothing
    await assert_same_table(pool, schema, reference)
    assert await store.get(late.id) == record


async def relfilenode(pool: asyncpg.Pool, schema: str) -> int:
    """The table's storage file: a rewrite of the table gives it a new one."""
    return int(
        await pool.fetchval(
            "SELECT relfilenode FROM pg_class WHERE oid = format('%I.%I', $1::text, $2::text)"
            "::regclass",
            schema,
            TABLE,
        )
    )


async def old_cookies_still_log_in(store: AsyncpgStore, sessions: list[OldSession]) -> None:
    """The cookies browsers hold from before the upgrade authenticate through a real app."""
    anchor = Anchor(store, secret_keys=SECRET)
    app = session_app(anchor)
    for s in sessions:
        async with https_client(app) as client:
            client.cookies.set(anchor.cookie.name, anchor.signer.sign(s.token))
            response = await client.get("/me")
            assert response.status_code == 200, response.text
            assert response.json() == {"user": s.user_id, "data": json.loads(s.data)}
    # Seen an hour or more after login: the request recorded it (one UPDATE of the new column).
    record = await store.get(sessions[0].id)
    assert record is not None
    assert record.last_seen_at > sessions[0].created_at
    assert record.authenticated_at == sessions[0].created_at
    async with https_client(app) as client:
        client.cookies.set(anchor.cookie.name, anchor.signer.sign(sessions[0].token))
        origin = {"origin": "https://testserver"}
        assert (await client.post("/logout", headers=origin)).status_code == 200
        assert (await client.get("/me")).status_code == 401
    assert await store.get(sessions[0].id) is None


async def assert_same_table(pool: asyncpg.Pool, schema: str, reference: str) -> None:
    """The table in `schema` is the one `create_table_sql` makes, triggers and function too."""
    async with pool.acquire() as conn:
        for statement in create_table_sql(TABLE, reference):
            await conn.execute(statement)
        assert await describe_table(conn, schema, TABLE) == await describe_table(
            conn, reference, TABLE
        )
        triggers = [dict(row) for row in await conn.fetch(TRIGGERS_SQL, schema, TABLE)]
        assert triggers == [dict(row) for row in await conn.fetch(TRIGGERS_SQL, reference, TABLE)]
    assert [t["tgname"] for t in triggers] == [f"{TABLE}_changed", f"{TABLE}_ended"]


async def assert_trigger_notifies(dsn: str, pool: asyncpg.Pool, store: AsyncpgStore) -> None:
    """A LISTEN on another connection hears committed deletes and changes, nothing else."""
    heard: list[str] = []
    arrived = anyio.Event()

    def on_notify(connection: Any, pid: int, channel: str, payload: str) -> None:
        heard.append(payload)
        arrived.set()

    async def next_notification() -> None:
        nonlocal arrived
        with anyio.fail_after(5):
            await arrived.wait()
        arrived = anyio.Event()

    ids = [r.id for user in ("alice", "bob") for r in await store.list_user(user)]
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener(notify_channel(TABLE), on_notify)
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute(f"DELETE FROM {store.table} WHERE id = $1", ids[0])
            await transaction.rollback()
        later = utc_now() + timedelta(hours=1)
        assert await store.update(ids[0], last_seen_at=later) is True  # not announced
        assert await store.delete(ids[1]) is True
        await next_notification()
        assert heard == [ids[1]]  # the rolled-back delete and the last-seen time sent nothing
        assert await store.update(ids[0], expires_at=later) is True
        await next_notification()
        assert heard == [ids[1], ids[0]]
    finally:
        await listener.close()


async def test_upgrade_gives_up_on_a_busy_table_and_changes_nothing(
    pool: asyncpg.Pool, schemas: tuple[str, str]
) -> None:
    """Behind a long transaction on the table, `upgrade_table` stops at the store's timeout.

    It raises `StoreUnavailable`, leaves the table at schema 1 and its sessions readable, and
    succeeds once the table is free.
    """
    schema, _ = schemas
    sessions = old_sessions()
    async with pool.acquire() as conn:
        await make_schema_1_table(conn, schema, sessions)
    store = AsyncpgStore(pool, schema=schema, timeout=0.5)
    async with pool.acquire() as holder:
        async with holder.transaction():
            await holder.execute(f"SELECT 1 FROM {store.table} LIMIT 1")  # holds a share lock
            with pytest.raises(StoreUnavailable):
                await store.upgrade_table()
        columns = await holder.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2",
            schema,
            TABLE,
        )
        assert columns == 5
        assert await holder.fetchval(f"SELECT count(*) FROM {store.table}") == len(sessions)
    await store.upgrade_table()
    assert (await store.get(sessions[0].id)) is not None


async def test_create_table_on_a_current_table_never_blocks_session_reads(
    pool: asyncpg.Pool, new_store: Callable[..., Any]
) -> None:
    """A worker starting (`create_table`) while a transaction reads the table does not wait.

    An `ALTER TABLE`, even one adding nothing, would wait for it and stall every session
    lookup queued behind; `create_table` alters only a table that lacks a column.
    """
    async with new_store(timeout=2) as store, pool.acquire() as holder, holder.transaction():
        await holder.execute(f"SELECT 1 FROM {store.table} LIMIT 1")
        await store.create_table()


async def test_a_schema_1_table_says_how_to_upgrade_it(
    pool: asyncpg.Pool, schemas: tuple[str, str]
) -> None:
    """The new store on a table not yet upgraded: a 500 naming the fix, not a bare column error."""
    schema, _ = schemas
    sessions = old_sessions()
    async with pool.acquire() as conn:
        await make_schema_1_table(conn, schema, sessions)
    store = AsyncpgStore(pool, schema=schema)
    with pytest.raises(StoreRejected, match=r"upgrade_table\(\)") as raised:
        await store.get(sessions[0].id)
    assert raised.value.sqlstate == "42703"
    assert isinstance(raised.value.__cause__, asyncpg.UndefinedColumnError)


async def test_upgrade_of_a_missing_table_says_how_to_create_it(pool: asyncpg.Pool) -> None:
    store = AsyncpgStore(pool, table=f"missing_{secrets.token_hex(4)}")
    with pytest.raises(TableMissing, match=r"create_table\(\)"):
        await store.upgrade_table()


async def test_create_table_makes_the_reference_table(
    pool: asyncpg.Pool, schemas: tuple[str, str]
) -> None:
    """A new table from `create_table` is the one `create_table_sql` makes, trigger included."""
    schema, reference = schemas
    await AsyncpgStore(pool, schema=schema).create_table()
    await assert_same_table(pool, schema, reference)


async def test_create_table_restores_a_dropped_trigger(
    pool: asyncpg.Pool, schemas: tuple[str, str]
) -> None:
    schema, reference = schemas
    store = AsyncpgStore(pool, schema=schema)
    await store.create_table()
    await pool.execute(f'DROP TRIGGER "{TABLE}_changed" ON {store.table}')
    await store.create_table()
    await assert_same_table(pool, schema, reference)


async def test_workers_starting_together_upgrade_a_schema_1_table_once(
    make_pool: Callable[..., Any], pool: asyncpg.Pool, schemas: tuple[str, str]
) -> None:
    """Several workers of the new version start at once: each `create_table` succeeds."""
    schema, reference = schemas
    sessions = old_sessions()
    async with pool.acquire() as conn:
        await make_schema_1_table(conn, schema, sessions)
    async with (
        make_pool(max_size=1) as a,
        make_pool(max_size=1) as b,
        make_pool(max_size=1) as c,
        anyio.create_task_group() as group,
    ):
        for worker_pool in (a, b, c):
            group.start_soon(AsyncpgStore(worker_pool, schema=schema).create_table)
    await assert_same_table(pool, schema, reference)
    store = AsyncpgStore(pool, schema=schema)
    assert [await store.get(s.id) is not None for s in sessions] == [True] * len(sessions)
