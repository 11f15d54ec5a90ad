"""Every adapter gives the same answer to each SQLSTATE of the failure taxonomy.

PostgreSQL raises the condition itself: a `BEFORE INSERT OR UPDATE OR DELETE` row trigger on
the shared table `RAISE`s it with the SQLSTATE under test, so `create`, `update` and `delete`
of every adapter meet a real server error through their own driver and ORM. Reads are made to
fail by the server too: a lock held past the role's `lock_timeout` (55P03), a column dropped
under the store (42703, schema drift) and a role without `SELECT` (42501). Each answer is the
store error `fastapi_anchor.failures` names, carrying the SQLSTATE, and through `Anchor` a
login answers 503 for unavailability and 500 for a mistake.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import pytest

from fastapi_anchor import Anchor
from fastapi_anchor.store import (
    SessionExists,
    SessionRecord,
    SessionStore,
    StoreError,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.testing import session_app

from interop_adapters import ADAPTERS, Adapter

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

SECRET = secrets.token_urlsafe(32)

TRANSIENT = ["08006", "40001", "40P01", "25006", "53300", "55P03", "57014", "57P01", "58030"]
MISTAKES = ["42501", "42703", "22001", "23514", "23502", "0A000", "XX000", "28000", "3D000"]
EXPECTED: dict[str, type[StoreError]] = {
    **dict.fromkeys(TRANSIENT, StoreUnavailable),
    **dict.fromkeys(MISTAKES, StoreRejected),
    "42P01": TableMissing,
}
STATUS = {StoreUnavailable: 503, TableMissing: 503, StoreRejected: 500}


def record(user_id: str = "alice") -> SessionRecord:
    now = datetime.now(timezone.utc)
    return SessionRecord(secrets.token_hex(32), user_id, now, now + timedelta(hours=1), {"k": 1})


@asynccontextmanager
async def shared_table(
    adapter: Adapter, dsn: str, pg_admin: asyncpg.Connection
) -> AsyncIterator[str]:
    """A fresh table created by `adapter`, dropped (with its triggers) afterwards."""
    table = f"anchor_matrix_{secrets.token_hex(4)}"
    async with adapter.open(dsn, table, True):
        pass
    try:
        yield table
    finally:
        await pg_admin.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')


async def inject(pg_admin: asyncpg.Connection, table: str, sqlstate: str) -> None:
    """Make every INSERT, UPDATE and DELETE on `table` raise `sqlstate` (until dropped)."""
    function = f"{table}_raise"
    await pg_admin.execute(
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION 'injected {sqlstate}' USING ERRCODE = '{sqlstate}'; END $$"
    )
    await pg_admin.execute(
        f'CREATE TRIGGER "{table}_inject" BEFORE INSERT OR UPDATE OR DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {function}()"
    )


async def expect(error: type[StoreError], sqlstate: str, call: object) -> None:
    with pytest.raises(StoreError) as caught:
        await call  # type: ignore[misc]
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert caught.value.sqlstate == sqlstate
    assert caught.value.__cause__ is not None  # the driver's error is kept


async def login_status(store: SessionStore) -> int:
    transport = httpx.ASGITransport(
        app=session_app(Anchor(store, secret_keys=SECRET)), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        return (await client.post("/login")).status_code


@pytest.mark.parametrize("sqlstate", sorted(EXPECTED))
@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
async def test_writes_meet_the_same_answer_on_every_adapter(
    adapter: Adapter, sqlstate: str, postgres_dsn: str, pg_admin: asyncpg.Connection
) -> None:
    error = EXPECTED[sqlstate]
    async with (
        shared_table(adapter, postgres_dsn, pg_admin) as table,
        adapter.open(postgres_dsn, table, False) as store,
    ):
        existing = record()
        await store.create(existing)
        await inject(pg_admin, table, sqlstate)
        await expect(error, sqlstate, store.create(record()))
        await expect(error, sqlstate, store.update(existing.id, data={"k": 2}))
        await expect(error, sqlstate, store.delete(existing.id))
        assert await login_status(store) == STATUS[error]
        assert await store.get(existing.id) == existing  # nothing was lost


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
async def test_a_unique_violation_is_session_exists_only_on_create(
    adapter: Adapter, postgres_dsn: str, pg_admin: asyncpg.Connection
) -> None:
    async with (
        shared_table(adapter, postgres_dsn, pg_admin) as table,
        adapter.open(postgres_dsn, table, False) as store,
    ):
        existing = record()
        await store.create(existing)
        await expect(SessionExists, "23505", store.create(existing))  # the real key
        await inject(pg_admin, table, "23505")
        await expect(StoreRejected, "23505", store.update(existing.id, data={}))


@asynccontextmanager
async def role_dsn(
    dsn: str, pg_admin: asyncpg.Connection, *settings: str, grant_on: str | None = None
) -> AsyncIterator[str]:
    """The DSN of a login role of the test's own, with `settings` (`lock_timeout = '200ms'`)
    and every privilege on the table `grant_on` (none on any table otherwise)."""
    role = f"anchor_matrix_{secrets.token_hex(4)}"
    await pg_admin.execute(f'CREATE ROLE "{role}" LOGIN')
    for setting in settings:
        await pg_admin.execute(f'ALTER ROLE "{role}" SET {setting}')
    if grant_on is not None:
        await pg_admin.execute(f'GRANT ALL ON "{grant_on}" TO "{role}"')
    scheme, rest = dsn.split("://", 1)
    host = rest.split("@", 1)[-1]
    try:
        yield f"{scheme}://{role}@{host}"
    finally:
        await pg_admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
        )
        await pg_admin.execute(f'DROP OWNED BY "{role}"')
        await pg_admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.name)
async def test_reads_meet_the_same_answer_on_every_adapter(
    adapter: Adapter, postgres_dsn: str, pg_admin: asyncpg.Connection
) -> None:
    async with shared_table(adapter, postgres_dsn, pg_admin) as table:
        existing = record()
        async with adapter.open(postgres_dsn, table, False) as store:
            await store.create(existing)

        # A lock held past the role's lock_timeout: transient (55P03).
        slow_locks = "lock_timeout = '200ms'"
        async with (
            role_dsn(postgres_dsn, pg_admin, slow_locks, grant_on=table) as dsn,
            adapter.open(dsn, table, False) as store,
        ):
            assert await store.get(existing.id) == existing
            async with pg_admin.transaction():
                await pg_admin.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                await expect(StoreUnavailable, "55P03", store.get(existing.id))
            assert await store.get(existing.id) == existing  # and it recovers

        # No SELECT privilege: a deploy mistake (42501), never a 503.
        async with (
            role_dsn(postgres_dsn, pg_admin) as dsn,
            adapter.open(dsn, table, False) as store,
        ):
            await expect(StoreRejected, "42501", store.get(existing.id))

        # A column dropped under the store: schema drift (42703). (`data` would be refused:
        # the change-notification trigger depends on it.)
        async with adapter.open(postgres_dsn, table, False) as store:
            await pg_admin.execute(f'ALTER TABLE "{table}" DROP COLUMN user_agent')
            await expect(StoreRejected, "42703", store.get(existing.id))
