"""`AsyncpgStore`: sessions in the shared PostgreSQL table, on a raw asyncpg pool."""

# asyncpg ships no type information; asyncpg-stubs adds it where installed.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

from anchor_asyncpg.errors import translate
from anchor_asyncpg.pool import owned_pool
from anchor_asyncpg.statements import Statements
from fastapi_anchor.store import SessionRecord, StoreUnavailable
from fastapi_anchor.toolkit import (
    DEFAULT_TABLE_NAME,
    DEFAULT_TIMEOUT,
    Deadlines,
    check_expiry_args,
    check_timeout,
    connection_lost,
    dump_data,
    load_data,
    update_values,
)

__all__ = ["AsyncpgStore"]

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    _Connection: TypeAlias = PoolConnectionProxy[Any]

_T = TypeVar("_T")
_Pool = asyncpg.Pool  # the runtime class; `asyncpg.Pool[Any]` in annotations


class AsyncpgStore:
    """A `SessionStore` on an asyncpg pool: one statement per call, no transactions.

    Give it the application's pool, so sessions share the connections the app already has,
    or a DSN, and the store creates its own pool on first use (or on `open`) and closes it in
    `close`. Either way the table is the shared `anchor_sessions` schema; create it with
    `create_table` or with the SQL from `fastapi_anchor.toolkit.create_table_sql`, and
    bring a table made before the device columns up to date with `upgrade_table` (or the
    SQL from `fastapi_anchor.toolkit.upgrade_table_sql`).

    A lost connection, a refused connection, a pool that stays exhausted or a statement past
    its timeout raises `StoreUnavailable` (the app answers 503); the next call uses a new
    connection, so the store works again as soon as PostgreSQL does. A missing table raises
    `TableMissing` (a `StoreUnavailable` too), whose message says how to create it.

    Args:
        pool: The application's `asyncpg.Pool` (already created with `await`), or a DSN
            such as `postgresql://user@host/db` for a pool the store owns.
        table: Table name.
        schema: Schema of the table; None uses the connection's search path.
        timeout: Seconds a call may take, waiting for a free connection included (and, for
            a pool the store owns, connecting); past it the call raises `StoreUnavailable`.
        pool_options: Keyword arguments for `asyncpg.create_pool` when `pool` is a DSN, such
            as `min_size`, `max_size` or `statement_cache_size=0` behind PgBouncer. The store's
            own pool releases connections without the reset query (see `skip_reset`); pass
            `reset=None` here to restore asyncpg's default.

    Raises:
        ValueError: A name is not a plain identifier, `timeout` is not positive, or
            `pool_options` is given with a pool.
    """

    def __init__(
        self,
        pool: asyncpg.Pool[Any] | str,
        *,
        table: str = DEFAULT_TABLE_NAME,
        schema: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        pool_options: Mapping[str, Any] | None = None,
    ) -> None:
        timeout = check_timeout(timeout)
        self._sql = Statements.build(table, schema)
        # One limit for the whole call (waiting for a connection, then the statement), kept by
        # one shared timer rather than a timer armed per call (see fastapi_anchor.deadlines).
        self._deadline = Deadlines(timeout)
        self._dsn: str | None
        self._pool: asyncpg.Pool[Any] | None
        if isinstance(pool, str):
            self._dsn, self._pool = pool, None
            self._pool_options = dict(pool_options or {})
        elif isinstance(pool, _Pool):
            if pool_options is not None:
                raise ValueError("pool_options applies only when the store is given a DSN")
            self._dsn, self._pool = None, pool
            self._pool_options = {}
        else:
            raise TypeError(f"pool must be an asyncpg.Pool or a DSN string, got {type(pool)}")
        self._opening = asyncio.Lock()
        self._closed = False

    @property
    def table(self) -> str:
        """The quoted, qualified table name, like `"auth"."anchor_sessions"`."""
        return self._sql.table

    @property
    def pool(self) -> asyncpg.Pool[Any] | None:
        """The pool in use; None while a store given a DSN has not connected yet."""
        return self._pool

    @property
    def owns_pool(self) -> bool:
        """Whether the store created the pool (from a DSN) and closes it in `close`."""
        return self._dsn is not None

    async def open(self) -> None:
        """Create the store's own pool now rather than on first use (no-op with a given pool).

        Raises:
            StoreUnavailable: PostgreSQL cannot be reached; calling again retries.
        """
        self._closed = False
        if self._pool is None:
            await self._open()

    async def close(self) -> None:
        """Close the pool if the store created it; the application closes its own pool.

        Until `open` is called again, calls then raise `StoreUnavailable`.
        """
        if self._dsn is None:
            return
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> AsyncpgStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def create_table(self) -> None:
        """Create the shared table (schema 2), its indexes and trigger if missing.

        Safe to call from every worker at start-up. A table of schema 1 (made before the
        device columns existed) is upgraded as `upgrade_table` does. A table already at
        schema 2 with its trigger is left as it is: the `ALTER TABLE` and `DROP TRIGGER` of
        an upgrade lock the table exclusively, and a worker starting while a long
        transaction (a backup, a report) reads the table would stall every session lookup
        queued behind them.

        Raises:
            StoreUnavailable: PostgreSQL cannot be reached.
        """
        await self._run(self._create_table)

    async def _create_table(self, conn: _Connection) -> None:
        async with conn.transaction():
            await conn.execute(self._sql.lock_table_creation, self._sql.table)
            for statement in self._sql.create_table:
                await conn.execute(statement)
            lacks_columns, lacks_trigger = await conn.fetchrow(self._sql.lacks, self._sql.table)
            if lacks_columns:
                for statement in self._sql.add_columns:
                    await conn.execute(statement)
            if lacks_columns or lacks_trigger:
                for statement in self._sql.notify_trigger:
                    await conn.execute(statement)

    async def upgrade_table(self) -> None:
        """Bring a table of schema 1 to schema 2 in one transaction: sessions stay valid.

        Runs `fastapi_anchor.toolkit.upgrade_table_sql` for the store's table: the new
        columns (no row is rewritten) and the change-notification trigger. Idempotent.

        Raises:
            TableMissing: The table does not exist (`create_table` makes it at schema 2).
            StoreUnavailable: PostgreSQL cannot be reached.
        """
        await self._run(self._upgrade_table)

    async def _upgrade_table(self, conn: _Connection) -> None:
        async with conn.transaction():
            await conn.execute(self._sql.lock_table_creation, self._sql.table)
            for statement in self._sql.upgrade_table:
                await conn.execute(statement)

    async def create(self, record: SessionRecord) -> None:
        """Insert `record`, every field of it.

        Raises:
            SessionExists: The id is already stored (PostgreSQL's unique violation).
            StoreUnavailable: PostgreSQL cannot answer now.
        """
        args = (
            record.id,
            record.user_id,
            dump_data(record.data),
            record.created_at,
            record.expires_at,
            record.authenticated_at,
            record.last_seen_at,
            record.ip_address,
            record.user_agent,
            record.persistent,
        )
        await self._run(lambda conn: conn.execute(self._sql.insert, *args), inserting=True)

    async def get(self, session_id: str) -> SessionRecord | None:
        """Return the record with this id, expired or not, or None: one `SELECT` by key."""
        row = await self._fetchrow(self._sql.get, session_id)
        return None if row is None else _record(session_id, row)

    async def update(
        self,
        session_id: str,
        *,
        expires_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
        last_seen_at: datetime | None = None,
        authenticated_at: datetime | None = None,
    ) -> bool:
        """Change the given fields of an existing record with one `UPDATE` setting only them.

        Never inserts, so a refresh racing a logout cannot bring the session back.

        Returns:
            True if the record existed, False if it is gone.

        Raises:
            ValueError: A time given is naive.
            TypeError: A time given is not a datetime.
        """
        values = update_values(
            expires_at=expires_at,
            data=data,
            last_seen_at=last_seen_at,
            authenticated_at=authenticated_at,
        )
        if not values:
            return await self._fetchrow(self._sql.exists, session_id) is not None
        statement = self._sql.update[tuple(values)]
        return _count(await self._execute(statement, session_id, *values.values())) > 0

    async def delete(self, session_id: str) -> bool:
        """Delete one record; return whether it existed."""
        return _count(await self._execute(self._sql.delete, session_id)) > 0

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Delete every record of `user_id` but the one with id `keep`; return how many.

        One `DELETE`; a `keep` that is not one of the user's sessions protects nothing.
        """
        return _count(await self._execute(self._sql.delete_user, user_id, keep))

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        """Return every record of `user_id`, expired ones included (index on `user_id`)."""
        rows = await self._fetch(self._sql.list_user, user_id)
        return [_record(row["id"], row) for row in rows]

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        """Delete at most `limit` records with `expires_at <= now`, oldest first; return how many.

        Raises:
            ValueError: `now` is naive or `limit` is below 1.
        """
        check_expiry_args(now, limit)
        return _count(await self._execute(self._sql.delete_expired, now, limit))

    async def count_expired(self, now: datetime) -> int:
        """Return how many records `delete_expired(now)` would delete in all; delete none.

        Raises:
            ValueError: `now` is naive.
        """
        check_expiry_args(now, 1)
        row = await self._fetchrow(self._sql.count_expired, now)
        return 0 if row is None else int(row[0])

    async def _run(
        self, action: Callable[[_Connection], Awaitable[_T]], *, inserting: bool = False
    ) -> _T:
        """Run `action` on a pooled connection within the time limit.

        Failures become the store errors of the core's taxonomy; with `inserting`, a unique
        violation is `SessionExists`.
        """
        pool = self._pool or await self._open()
        try:
            with self._deadline:
                async with pool.acquire() as conn:
                    try:
                        return await action(conn)
                    except asyncpg.InternalClientError:
                        # The protocol state is unknown (say the server's "terminating
                        # connection" arrived before the socket closed): never hand this
                        # connection out again.
                        conn.terminate()
                        raise
        except Exception as exc:
            error = translate(exc, self._sql.table, inserting=inserting)
            if error is None:
                raise
            if connection_lost(exc):
                # A server restart kills every connection: replace them all on next use
                # rather than let each fail one more request.
                await pool.expire_connections()
            raise error from exc

    async def _fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        return await self._run(lambda conn: conn.fetchrow(query, *args))

    async def _fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        return await self._run(lambda conn: conn.fetch(query, *args))

    async def _execute(self, query: str, *args: object) -> str:
        return await self._run(lambda conn: conn.execute(query, *args))

    async def _open(self) -> asyncpg.Pool[Any]:
        # Only a store given a DSN ever lacks a pool.
        async with self._opening:
            if self._closed or self._dsn is None:
                raise StoreUnavailable("the store is closed")
            if self._pool is None:
                pool = owned_pool(self._dsn, self._pool_options, self._deadline.seconds)
                try:
                    with self._deadline:
                        await pool
                except Exception as exc:
                    error = translate(exc, self._sql.table)
                    if error is None:
                        raise
                    raise error from exc
                self._pool = pool
            return self._pool


def _record(session_id: str, row: asyncpg.Record) -> SessionRecord:
    """The record of a row of `Statements.get`'s columns (NULL times, from older code, are None)."""
    return SessionRecord(
        id=session_id,
        user_id=row["user_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        data=load_data(row["data"]),
        authenticated_at=row["authenticated_at"],
        last_seen_at=row["last_seen_at"],
        ip_address=row["ip_address"],
        user_agent=row["user_agent"],
        persistent=row["persistent"],
    )


def _count(status: str) -> int:
    """Rows affected, from a command status such as `UPDATE 1` or `DELETE 12`."""
    return int(status.rpartition(" ")[2])
