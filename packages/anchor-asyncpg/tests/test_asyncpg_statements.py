"""What PostgreSQL itself executes for a session lookup: one SELECT, no transaction statements.

The count comes from the server: the test pool's connections run with `log_statement = 'all'`
and `client_min_messages = log`, so the backend reports every statement it executes (a
`LOG: execute ...` or `LOG: statement: ...` notice) back on the same connection. A prepare
(`Parse`) is not a statement and is not reported; an executed `BEGIN`, `ROLLBACK` or reset
query would be. What ran last is then read from `pg_stat_activity` on another connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from anchor_asyncpg import AsyncpgStore, skip_reset
from fastapi_anchor.store import SessionRecord

from required import missing

pytestmark = [
    pytest.mark.anyio,
    # The listener that collects the server's reports stays on across releases, on purpose.
    pytest.mark.filterwarnings("ignore:.*active log listener:asyncpg.InterfaceWarning"),
]

TRANSACTION_WORDS = ("BEGIN", "START TRANSACTION", "COMMIT", "ROLLBACK", "SAVEPOINT")


class ServerLog:
    """Statements the server reports having executed on the watched connections."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.pids: set[int] = set()

    def listen(self, connection: Any, message: Any) -> None:
        if message.severity_en == "LOG" and message.message.startswith(("execute ", "statement: ")):
            self.statements.append(message.message)

    async def setup(self, connection: Any) -> None:
        # asyncpg drops log listeners on every release: add ours on every acquire.
        connection.add_log_listener(self.listen)
        self.pids.add(connection.get_server_pid())

    async def during(self, call: Callable[[], Any]) -> list[str]:
        """Run `call` and return the statements the server executed meanwhile."""
        self.statements.clear()
        await call()
        await asyncio.sleep(0)  # asyncpg hands notices to listeners with call_soon
        return list(self.statements)


LOGGED = {"log_statement": "all", "client_min_messages": "log"}


@pytest.fixture
async def superuser(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            missing("a superuser", "setting log_statement per connection needs one")
    finally:
        await conn.close()


@asynccontextmanager
async def logged_store(
    dsn: str, log: ServerLog, *, own_pool: bool = False, **pool_options: Any
) -> AsyncIterator[AsyncpgStore]:
    """A store on one logged connection (max_size=1), on a fresh table dropped afterwards."""
    options = {"min_size": 1, "max_size": 1, "server_settings": LOGGED, "setup": log.setup}
    options.update(pool_options)
    if own_pool:
        store = AsyncpgStore(dsn, table=f"anchor_log_{id(log):x}", pool_options=options)
        pool = None
    else:
        pool = await asyncpg.create_pool(dsn, **options)
        store = AsyncpgStore(pool, table=f"anchor_log_{id(log):x}")
    try:
        await store.create_table()
        yield store
    finally:
        assert store.pool is not None
        await store.pool.execute(f"DROP TABLE IF EXISTS {store.table}")
        await store.close()
        if pool is not None:
            await pool.close()


async def last_statement(dsn: str, pid: int) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(
            "SELECT query, state, xact_start FROM pg_stat_activity WHERE pid = $1", pid
        )
    finally:
        await conn.close()


def assert_one_select(statements: list[str], table: str) -> None:
    assert len(statements) == 1, statements
    assert statements[0].endswith(f"FROM {table} WHERE id = $1"), statements
    assert "SELECT user_id, data::text AS data, created_at, expires_at, " in statements[0]
    assert not any(word in s.upper() for s in statements for word in TRANSACTION_WORDS)


@pytest.mark.usefixtures("superuser")
@pytest.mark.parametrize(
    ("statement_cache_size", "own_pool"),
    [(100, False), (0, False), (100, True)],
    ids=["cached-statements", "pgbouncer-statement_cache_size=0", "store-owned-pool"],
)
async def test_get_is_one_statement_and_no_transaction(
    postgres_dsn: str,
    make_record: Callable[..., SessionRecord],
    statement_cache_size: int,
    own_pool: bool,
) -> None:
    """A lookup is a single SELECT by key: no BEGIN/ROLLBACK around it, no reset after it.

    Cold (first on the connection: asyncpg prepares it) and warm; with the statement cache off
    (PgBouncer's transaction mode) it is prepared every time, still one statement.
    """
    log = ServerLog()
    options: dict[str, Any] = {"statement_cache_size": statement_cache_size}
    if not own_pool:
        options["reset"] = skip_reset  # the store's own pool uses it without being told
    async with logged_store(postgres_dsn, log, own_pool=own_pool, **options) as store:
        record = make_record()
        await store.create(record)
        found: list[Any] = []
        for _attempt in ("cold", "warm", "warm again"):
            statements = await log.during(lambda: _get_into(store, record.id, found))
            assert_one_select(statements, store.table)
        assert found == [record] * 3
        (pid,) = log.pids
        activity = await last_statement(postgres_dsn, pid)
        assert activity["query"] == store._sql.get  # nothing ran after it
        assert activity["state"] == "idle"
        assert activity["xact_start"] is None  # not left inside a transaction


@pytest.mark.usefixtures("superuser")
async def test_asyncpg_default_reset_adds_a_second_statement(
    postgres_dsn: str, make_record: Callable[..., SessionRecord]
) -> None:
    """With asyncpg's default reset the pool sends its reset query after the SELECT (2 in all).

    This is why the README recommends `reset=skip_reset` and why the store's own pool uses it.
    """
    log = ServerLog()
    async with logged_store(postgres_dsn, log, reset=None) as store:
        record = make_record()
        await store.create(record)
        statements = await log.during(lambda: store.get(record.id))
        assert_one_select(statements, store.table)  # the store's part: one statement
        (pid,) = log.pids
        activity = await last_statement(postgres_dsn, pid)
        assert store.pool is not None
        async with store.pool.acquire() as conn:
            reset_query = conn.get_reset_query()
            conn.remove_log_listener(log.listen)
        assert reset_query
        assert activity["query"] == reset_query  # the pool's part: one more after it


@pytest.mark.usefixtures("superuser")
async def test_sliding_refresh_and_logout_are_one_statement_each(
    postgres_dsn: str, make_record: Callable[..., SessionRecord]
) -> None:
    """The writes of a session's life are single statements too (UPDATE, DELETE).

    A refresh that also records the last-seen time is one UPDATE, and so is ending all of a
    user's other sessions (`delete_user(keep=)`) one DELETE.
    """
    log = ServerLog()
    async with logged_store(postgres_dsn, log, reset=skip_reset) as store:
        record = make_record()
        other = make_record(record.user_id)
        statements = await log.during(lambda: store.create(record))
        assert len(statements) == 1
        assert "INSERT INTO" in statements[0]
        await store.create(other)
        later = record.expires_at + timedelta(hours=2)
        for update in (
            lambda: store.update(record.id, expires_at=later),
            lambda: store.update(record.id, expires_at=later, last_seen_at=later),
            lambda: store.update(record.id, last_seen_at=later),
        ):
            statements = await log.during(update)
            assert len(statements) == 1
            assert "UPDATE" in statements[0]
        statements = await log.during(lambda: store.delete_user(record.user_id, keep=record.id))
        assert len(statements) == 1
        assert "DELETE" in statements[0]
        statements = await log.during(lambda: store.delete(record.id))
        assert len(statements) == 1
        assert "DELETE" in statements[0]


async def _get_into(store: AsyncpgStore, session_id: str, found: list[Any]) -> None:
    found.append(await store.get(session_id))
