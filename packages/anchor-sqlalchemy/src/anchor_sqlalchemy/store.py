"""`SQLAlchemyStore`: sessions in the shared table through SQLAlchemy 2 async Core."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import MetaData, Table, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

from anchor_sqlalchemy.direct import DirectRead, NotRead
from anchor_sqlalchemy.errors import store_error, table_missing
from anchor_sqlalchemy.gate import PoolGate
from anchor_sqlalchemy.statements import Statements
from anchor_sqlalchemy.table import COLUMNS, sessions_table
from fastapi_anchor.store import SessionRecord, StoreUnavailable
from fastapi_anchor.toolkit import (
    DEFAULT_TABLE_NAME,
    DEFAULT_TIMEOUT,
    Deadlines,
    check_expiry_args,
    check_timeout,
    dump_data,
    ensure_utc,
    load_data,
    update_values,
)

__all__ = ["SQLAlchemyStore"]

T = TypeVar("T")


def _engine_of(bind: AsyncEngine | async_sessionmaker[Any]) -> AsyncEngine:
    if isinstance(bind, AsyncEngine):
        return bind
    if isinstance(bind, async_sessionmaker):
        engine = bind.kw.get("bind")
        if isinstance(engine, AsyncEngine):
            return engine
        raise TypeError(
            "the async_sessionmaker must be bound to an AsyncEngine "
            f"(async_sessionmaker(engine, ...)), got bind={engine!r}"
        )
    raise TypeError(f"expected an AsyncEngine or an async_sessionmaker, got {bind!r}")


def _aware(value: datetime) -> datetime:
    # SQLite gives back the naive UTC wall time that was written; PostgreSQL gives aware values.
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _aware_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _record(session_id: str, row: Sequence[Any]) -> SessionRecord:
    """The record of a row holding the shared columns after `id`, in order (`Statements.get`'s)."""
    user_id, data, created_at, expires_at, authenticated, seen, ip, agent, persistent = row
    return SessionRecord(
        id=session_id,
        user_id=user_id,
        created_at=_aware(created_at),
        expires_at=_aware(expires_at),
        data=load_data(data),
        # NULL in a row written by code older than the column: the record reads created_at.
        authenticated_at=_aware_or_none(authenticated),
        last_seen_at=_aware_or_none(seen),
        ip_address=ip,
        user_agent=agent,
        persistent=persistent,
    )


class SQLAlchemyStore:
    """A `SessionStore` on SQLAlchemy 2 Core over an `AsyncEngine`.

    Every call is one statement in autocommit mode: a read sends its SELECT alone, with no
    BEGIN/ROLLBACK around it, and a write commits as it runs. The statements are built once,
    so SQLAlchemy compiles each of them once per dialect. The application's engine keeps its
    own options: the store works through a copy with `isolation_level="AUTOCOMMIT"` that shares
    the engine's connection pool. `get`, run on every authenticated request, runs its SELECT
    straight on the asyncpg connection beneath a pooled one, skipping the `Connection` layer
    and the dialect's DBAPI cursor, where nothing observes it (see `anchor_sqlalchemy.direct`).

    Failures are answered by the core's taxonomy (`fastapi_anchor.failures`): a duplicate id
    raises `SessionExists`; a lost or refused connection, a deadlock, a server shutting down or
    the time limit `StoreUnavailable`; a table not created yet `TableMissing`; a mistake such
    as a missing privilege `StoreRejected`.

    Args:
        bind: The application's `AsyncEngine`, or an `async_sessionmaker` bound to one.
        table: The table's name, or the `Table` from `sessions_table` on the application's
            `MetaData`.
        schema: The table's schema when `table` is a name; None for the default one.
        timeout: Seconds a call may take, waiting for a pooled connection included, before it
            raises `StoreUnavailable` (the engine's own `pool_timeout` may be longer).

    Raises:
        TypeError: `bind` is neither an `AsyncEngine` nor a bound `async_sessionmaker`.
        ValueError: `table` lacks a column of the shared schema, `schema` is given with a
            `Table`, or `timeout` is not positive.
    """

    def __init__(
        self,
        bind: AsyncEngine | async_sessionmaker[Any],
        table: str | Table = DEFAULT_TABLE_NAME,
        *,
        schema: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.engine = _engine_of(bind)
        self.timeout = check_timeout(timeout)
        self._deadline = Deadlines(self.timeout)
        if isinstance(table, Table):
            if schema is not None:
                raise ValueError("schema applies to a table name; a Table carries its own")
            self.table = table
        else:
            self.table = sessions_table(MetaData(), table, schema=schema)
        missing = [name for name in COLUMNS if name not in self.table.c]
        if missing:
            raise ValueError(f"table {self.table.name!r} lacks the columns {missing}")
        autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._engine: Engine = autocommit.sync_engine
        self._sql = Statements.build(self.table, self.engine.dialect.name)
        self._direct = DirectRead.prepare(self._engine, self._sql.get, "session_id")
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._gate = PoolGate.for_engine(self._engine)

    async def create_table(self) -> None:
        """Create the table, its indexes and (on PostgreSQL) its trigger if the table is missing.

        Handy in development and tests; in production let Alembic create the table from the
        application's `MetaData`. An existing table is left as it is: a table of schema 1
        (the first five columns) is brought to schema 2 by a migration
        (`anchor_sqlalchemy.migrations.upgrade_table`).
        """
        async with self.engine.begin() as conn:
            await conn.run_sync(self.table.create, checkfirst=True)

    async def create(self, record: SessionRecord) -> None:
        """Insert `record` in one autocommitted statement.

        Raises:
            SessionExists: The id is already stored (the database's unique violation).
            StoreUnavailable: The database cannot be reached.
        """
        params = {f"{name}_": getattr(record, name) for name in COLUMNS}
        params["data_"] = dump_data(record.data)
        await self._run(self._rowcount, self._sql.insert, params, inserting=True)

    async def get(self, session_id: str) -> SessionRecord | None:
        """Return the record with this id, expired or not, or None: one SELECT, no transaction."""
        row = await self._run(self._read, session_id)
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
        """Change the given fields with one UPDATE; never inserts.

        Raises:
            ValueError: A datetime is naive (nothing is written).

        Returns:
            True if the record existed, even if no value changed; False if it is gone.
        """
        changes = update_values(
            expires_at=expires_at,
            data=data,
            last_seen_at=last_seen_at,
            authenticated_at=authenticated_at,
        )
        params = {f"new_{name}": value for name, value in changes.items()}
        params["session_id"] = session_id
        if not changes:
            return await self._run(self._first, self._sql.exists, params) is not None
        return await self._run(self._rowcount, self._sql.updates[frozenset(changes)], params) > 0

    async def delete(self, session_id: str) -> bool:
        """Remove one record; return whether it existed."""
        return await self._run(self._rowcount, self._sql.delete, {"session_id": session_id}) > 0

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Remove every record of `user_id` but the one with id `keep`; return how many."""
        if keep is None:
            return await self._run(self._rowcount, self._sql.delete_user, {"user_id": user_id})
        params = {"user_id": user_id, "keep": keep}
        return await self._run(self._rowcount, self._sql.delete_user_but, params)

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        """Return every record of `user_id`, expired ones included."""
        rows = await self._run(self._all, self._sql.list_user, {"user_id": user_id})
        return [_record(row[0], row[1:]) for row in rows]

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        """Remove at most `limit` records with `expires_at <= now`; return how many.

        On PostgreSQL the batch skips rows locked by a concurrent cleanup.
        """
        check_expiry_args(now, limit)
        params = {"now": ensure_utc(now, "now"), "limit": limit}
        return await self._run(self._rowcount, self._sql.delete_expired, params)

    async def count_expired(self, now: datetime) -> int:
        """Return how many records have `expires_at <= now` (for `cleanup --dry-run`)."""
        params = {"now": ensure_utc(now, "now")}
        return int(await self._run(self._scalar, self._sql.count_expired, params))

    async def _run(self, call: Callable[..., T], *args: Any, inserting: bool = False) -> T:
        # One greenlet for connect, execute and release, rather than one per step; one time
        # limit for the whole call, waiting for the gate and the pool included.
        gate = self._gate
        try:
            with self._deadline:
                if gate is None:
                    return await greenlet_spawn(call, *args)
                await gate.acquire()
                try:
                    return await greenlet_spawn(call, *args)
                finally:
                    gate.release()
        except Exception as exc:
            error = store_error(exc, self.table.fullname, inserting=inserting)
            if error is None:
                raise
            if type(error) is StoreUnavailable and self._sqlite and not await self._has_table():
                error = table_missing(self.table.fullname)  # SQLite has no code for it
            raise error from exc

    async def _has_table(self) -> bool:
        """Whether the table exists; True when that cannot be told (the database is away)."""
        try:
            async with self.engine.connect() as conn:
                return bool(
                    await conn.run_sync(
                        lambda sync: inspect(sync).has_table(self.table.name, self.table.schema)
                    )
                )
        except Exception:  # the original error is the one to report
            return True

    def _read(self, session_id: str) -> Any:
        direct = self._direct
        if direct is not None and direct.usable():
            try:
                return direct.first(session_id)
            except NotRead:
                pass  # a Connection repeats the read and raises SQLAlchemy's error if it fails
        return self._first(self._sql.get, {"session_id": session_id})

    def _first(self, statement: Executable, params: dict[str, Any]) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(statement, params).first()

    def _all(self, statement: Executable, params: dict[str, Any]) -> list[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(statement, params).all())

    def _scalar(self, statement: Executable, params: dict[str, Any]) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(statement, params).scalar_one()

    def _rowcount(self, statement: Executable, params: dict[str, Any]) -> int:
        with self._engine.connect() as conn:
            return conn.execute(statement, params).rowcount
