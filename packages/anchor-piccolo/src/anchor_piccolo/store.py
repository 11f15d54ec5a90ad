"""`PiccoloStore`: sessions in the shared PostgreSQL table, through the application's engine."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo.tables import AnchorSession, sessions_table
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.toolkit import (
    DEFAULT_TABLE_NAME,
    DEFAULT_TIMEOUT,
    Deadlines,
    check_expiry_args,
    check_timeout,
    dump_data,
    load_data,
    quote_table,
    store_error,
    update_values,
    upgrade_table_sql,
)

__all__ = ["PiccoloStore"]

T = TypeVar("T")

_COLUMNS = (
    "id, user_id, data, created_at, expires_at,"
    " authenticated_at, last_seen_at, ip_address, user_agent, persistent"
)


class PiccoloStore:
    """A `SessionStore` on the shared PostgreSQL table, through a Piccolo `PostgresEngine`.

    The store binds its own subclass of `AnchorSession` to `engine` (see `sessions_table`), so it
    never runs on another engine. Start the engine's pool (`await engine.start_connection_pool()`,
    for instance in the FastAPI lifespan): without one, Piccolo opens a new connection for every
    query.

    Reading a session is one `SELECT` by primary key with no transaction around it. Updates
    never insert. Failures are answered by the core's taxonomy (`fastapi_anchor.failures`): a
    duplicate id raises `SessionExists`; a database that cannot answer now (or a pool that stays
    exhausted past `timeout`) `StoreUnavailable`; a table that does not exist `TableMissing`,
    whose message says how to create it; a mistake such as a missing privilege `StoreRejected`.

    Args:
        engine: The application's Piccolo engine.
        table: Name of the table (created by the `anchor_piccolo` migration or by
            `create_table`).
        schema: PostgreSQL schema of the table; None for the search path.
        timeout: Seconds a store call may take (waiting for a pooled connection, or connecting
            without a pool, included) before it raises `StoreUnavailable`.

    Raises:
        ValueError: `table` or `schema` is not a plain identifier, or `timeout` is not
            positive.
    """

    def __init__(
        self,
        engine: PostgresEngine,
        *,
        table: str = DEFAULT_TABLE_NAME,
        schema: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.timeout = check_timeout(timeout)
        self.engine = engine
        self.table: type[AnchorSession] = sessions_table(engine, table=table, schema=schema)
        self._deadline = Deadlines(self.timeout)
        self._upgrade = upgrade_table_sql(table, schema)
        name = quote_table(table, schema)
        self._name = name
        how = "`await store.create_table()`"
        if table == DEFAULT_TABLE_NAME and schema is None:
            how = "`piccolo migrations forwards anchor_piccolo` or " + how
        self._create_hint = how
        # The hot path. Piccolo's query builder takes about 80 us of CPU to build this SELECT,
        # and its raw-query path about 40 us more than asyncpg to run it, against some 250 us
        # for a whole hand-written authenticated request. So `get` sends this text itself.
        # The table name is validated and quoted; the id is a parameter.
        select = f"SELECT {_COLUMNS} FROM {name} WHERE id = "  # noqa: S608
        self._get_sql = select + "$1"  # for asyncpg
        self._get_raw = select + "{}"  # for Piccolo's raw queries

    async def create_table(self) -> None:
        """Create the table, its indexes and its trigger if missing (for apps without migrations).

        One transaction: Piccolo creates the table, then the core's `upgrade_table_sql` adds
        what it lacks. So a table created by an older version (schema 1) is upgraded in
        place, its sessions kept.

        Raises:
            StoreUnavailable: The database cannot be reached.
        """
        await self._run(self._create_table())

    async def _create_table(self) -> None:
        engine = self.engine
        async with engine.transaction():
            await self.table.create_table(if_not_exists=True).run()  # type: ignore[no-untyped-call]
            for statement in self._upgrade:
                await engine.run_ddl(statement)

    async def create(self, record: SessionRecord) -> None:
        """Insert `record`.

        Raises:
            SessionExists: The id is already stored (PostgreSQL's unique violation).
            StoreUnavailable: The database cannot be reached.
        """
        table = self.table
        row = table(
            id=record.id,
            user_id=record.user_id,
            data=dump_data(record.data),
            created_at=record.created_at,
            expires_at=record.expires_at,
            authenticated_at=record.authenticated_at,
            last_seen_at=record.last_seen_at,
            ip_address=record.ip_address,
            user_agent=record.user_agent,
            persistent=record.persistent,
        )
        await self._run(table.insert(row).run(), inserting=True)

    async def get(self, session_id: str) -> SessionRecord | None:
        """Return the record with this id, expired or not, or None.

        One SELECT by primary key, outside any transaction unless the caller opened one on the
        engine. With the pool running it goes to the pool directly (Piccolo's `log_queries`
        does not show it).
        """
        engine = self.engine
        pool = engine.pool
        if pool is not None and engine.current_transaction.get() is None:
            # Straight to the engine's own asyncpg pool: what Piccolo would do, minus its cost.
            row = await self._run(pool.fetchrow(self._get_sql, session_id))
        else:  # no pool (a new connection), or inside the caller's Piccolo transaction
            rows = await self._run(self.table.raw(self._get_raw, session_id).run())
            row = rows[0] if rows else None
        return None if row is None else _record(row)

    async def update(
        self,
        session_id: str,
        *,
        expires_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
        last_seen_at: datetime | None = None,
        authenticated_at: datetime | None = None,
    ) -> bool:
        """Change the given fields of an existing record (one UPDATE, never an insert).

        Returns:
            True if the record existed, False if it is gone.

        Raises:
            ValueError: A datetime is naive (nothing is written).
        """
        table = self.table
        changes = update_values(
            expires_at=expires_at,
            data=data,
            last_seen_at=last_seen_at,
            authenticated_at=authenticated_at,
        )
        values = {getattr(table, name): value for name, value in changes.items()}
        if not values:
            return bool(await self._run(table.exists().where(table.id == session_id).run()))
        rows = await self._run(
            table.update(values).where(table.id == session_id).returning(table.id).run()
        )
        return bool(rows)

    async def delete(self, session_id: str) -> bool:
        """Remove one record; return whether it existed."""
        table = self.table
        rows = await self._run(
            table.delete().where(table.id == session_id).returning(table.id).run()
        )
        return bool(rows)

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Remove every record of `user_id` but the one with id `keep`; return how many."""
        table = self.table
        where = [table.user_id == user_id]
        if keep is not None:
            where.append(table.id != keep)
        rows = await self._run(table.delete().where(*where).returning(table.id).run())
        return len(rows)

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        """Return every record of `user_id`, expired ones included."""
        table = self.table
        rows = await self._run(table.select().where(table.user_id == user_id).run())
        return [_record(row) for row in rows]

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        """Remove at most `limit` records with `expires_at <= now`; return how many.

        Rows another cleaner has locked are skipped, so concurrent cleaners do not wait on
        each other.
        """
        check_expiry_args(now, limit)
        table = self.table
        batch = (
            table.select(table.id)
            .where(table.expires_at <= now)
            .limit(limit)
            .lock_rows("UPDATE", skip_locked=True)
        )
        rows = await self._run(
            table.delete().where(table.id.is_in(batch)).returning(table.id).run()
        )
        return len(rows)

    async def count_expired(self, now: datetime) -> int:
        """Return how many records have `expires_at <= now` (what `delete_expired` would take)."""
        check_expiry_args(now, 1)
        table = self.table
        return await self._run(table.count().where(table.expires_at <= now).run())

    async def _run(self, query: Awaitable[T], *, inserting: bool = False) -> T:
        try:
            with self._deadline:  # one shared timer, not a task and a timer per call
                return await query
        except Exception as exc:
            error = store_error(
                exc, table=self._name, create_hint=self._create_hint, inserting=inserting
            )
            if error is None:
                raise
            raise error from exc


def _record(row: Any) -> SessionRecord:  # a dict from Piccolo, an asyncpg Record
    return SessionRecord(
        id=row["id"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        data=load_data(row["data"]),
        authenticated_at=row["authenticated_at"],  # NULL (an older writer's row): created_at
        last_seen_at=row["last_seen_at"],
        ip_address=row["ip_address"],
        user_agent=row["user_agent"],
        persistent=row["persistent"],
    )
