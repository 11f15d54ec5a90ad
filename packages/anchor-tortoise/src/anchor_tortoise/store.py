"""`TortoiseStore`: FastAPI Anchor sessions in PostgreSQL through Tortoise ORM."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.expressions import Subquery
from tortoise.models import Model
from tortoise.transactions import in_transaction

from anchor_tortoise.errors import StoreCall
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.toolkit import (
    DEFAULT_TIMEOUT,
    LOCK_TABLE_SQL,
    Deadlines,
    check_expiry_args,
    check_timeout,
    create_table_sql,
    load_data,
    quote_table,
    update_values,
    upgrade_table_sql,
)

__all__ = ["TortoiseStore"]

_COLUMNS = (
    "id",
    "user_id",
    "created_at",
    "expires_at",
    "data",
    "authenticated_at",
    "last_seen_at",
    "ip_address",
    "user_agent",
    "persistent",
)


def _record(row: Any) -> SessionRecord:
    fields = dict(zip(_COLUMNS, row, strict=True))
    if isinstance(fields["data"], (str, bytes)):
        fields["data"] = load_data(fields["data"])
    return SessionRecord(**fields)


def _max_length(model: type[Model], field: str) -> int:
    length: int = model._meta.fields_map[field].max_length  # type: ignore[attr-defined]
    return length


class TortoiseStore:
    """A `SessionStore` over a Tortoise ORM model of the shared sessions table.

    Initialise Tortoise first (`RegisterTortoise` in the app's lifespan, or `Tortoise.init`)
    with the model's module in an app's `"models"` list, `"anchor_tortoise.models"` for the
    default table. The store looks the connection up by name on every call, so it serves
    whatever Tortoise context is current and needs no start-up of its own.

    `get`, the call on every authenticated request, runs one `SELECT ... WHERE id = $1` that
    Tortoise compiles from the model once (per client class) and the store reuses: no
    transaction around it, no query building per request. `update` is a Tortoise
    `filter(...).update(...)`: an UPDATE that never inserts.

    Args:
        connection_name: Name of the Tortoise connection holding the table.
        model: The sessions model; default `anchor_tortoise.models.AnchorSession`. Pass the
            class made by `sessions_table` when the table has another name or schema.
        timeout: Seconds a call may take, waiting for a pooled connection included, before it
            raises `StoreUnavailable` (503).
    """

    def __init__(
        self,
        connection_name: str = "default",
        *,
        model: type[Model] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.timeout = check_timeout(timeout)
        self._deadline = Deadlines(self.timeout)
        if model is None:
            from anchor_tortoise.models import AnchorSession

            model = AnchorSession
        self.connection_name = connection_name
        self.model = model
        # Longer values cannot be in the table; Tortoise would refuse them in a filter.
        self._id_length = _max_length(model, "id")
        self._user_id_length = _max_length(model, "user_id")
        self._get_sql: dict[type[BaseDBAsyncClient], str] = {}
        meta = model._meta
        self._table = f"{meta.schema}.{meta.db_table}" if meta.schema else meta.db_table

    def __repr__(self) -> str:
        return (
            f"TortoiseStore(connection_name={self.connection_name!r}, "
            f"model={self.model.__name__}, table={self.model._meta.db_table!r})"
        )

    def _db(self) -> BaseDBAsyncClient:
        return get_connection(self.connection_name)

    def _select_by_id(self, db: BaseDBAsyncClient) -> str:
        # Compiled once per client class (its dialect and placeholder style), then reused.
        sql = self._get_sql.get(type(db))
        if sql is None:
            query = self.model.filter(id="").using_db(db).values_list(*_COLUMNS)
            sql = self._get_sql[type(db)] = query.sql()
        return sql

    async def create_table(self) -> None:
        """Create the table, its indexes and its change-notification trigger where missing.

        Runs the core's `create_table_sql` for the model's table and schema in one
        transaction: what `generate_schemas` makes plus the trigger it cannot make. Safe to
        run on every start, from every worker, and on a table already made by
        `generate_schemas`, aerich or another adapter (it then (re)creates the trigger).

        Raises:
            StoreUnavailable: The database could not serve the call.
        """
        await self._run_ddl(create_table_sql)

    async def upgrade_table(self) -> None:
        """Bring a schema 1 table (the first five columns) to schema 2, keeping every row.

        Runs the core's `upgrade_table_sql` in one transaction: the new columns (no row is
        rewritten) and the change-notification trigger. On a schema 2 table it changes
        nothing (the trigger is made again, the same).
        With aerich, put the same statements in a migration instead (see the README).

        Raises:
            TableMissing: There is no table to upgrade.
            StoreUnavailable: The database could not serve the call.
        """
        await self._run_ddl(upgrade_table_sql)

    async def _run_ddl(self, statements: Callable[[str, str | None], list[str]]) -> None:
        meta = self.model._meta
        with StoreCall(self._deadline, self._table):
            async with in_transaction(self.connection_name) as db:
                await db.execute_query(LOCK_TABLE_SQL, [quote_table(meta.db_table, meta.schema)])
                for statement in statements(meta.db_table, meta.schema):
                    await db.execute_script(statement)

    async def create(self, record: SessionRecord) -> None:
        """Insert `record` (one INSERT).

        Raises:
            SessionExists: The id is already stored; the stored row is left unchanged.
            StoreUnavailable: The database could not serve the call.
            ValueError: The id or user id is longer than its column.
        """
        if len(record.id) > self._id_length or len(record.user_id) > self._user_id_length:
            raise ValueError(
                f"session id or user id too long for {self.model._meta.db_table} "
                f"(at most {self._id_length} and {self._user_id_length} characters)"
            )
        with StoreCall(self._deadline, self._table, inserting=True):
            await self.model.create(
                using_db=self._db(),
                id=record.id,
                user_id=record.user_id,
                created_at=record.created_at,
                expires_at=record.expires_at,
                data=record.data,
                authenticated_at=record.authenticated_at,
                last_seen_at=record.last_seen_at,
                ip_address=record.ip_address,
                user_agent=record.user_agent,
                persistent=record.persistent,
            )

    async def get(self, session_id: str) -> SessionRecord | None:
        """Return the record with this id, expired or not, or None (one SELECT by primary key).

        Raises:
            StoreUnavailable: The database could not serve the call.
        """
        if len(session_id) > self._id_length:
            return None
        with StoreCall(self._deadline, self._table):
            db = self._db()
            _, rows = await db.execute_query(self._select_by_id(db), [session_id])
        return _record(rows[0]) if rows else None

    async def update(
        self,
        session_id: str,
        *,
        expires_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
        last_seen_at: datetime | None = None,
        authenticated_at: datetime | None = None,
    ) -> bool:
        """Change the given fields of an existing record with one UPDATE.

        Never inserts, so a refresh racing a logout cannot bring the session back.

        Returns:
            True if the record existed, False if it is gone.

        Raises:
            ValueError: A datetime is naive (nothing is written).
            StoreUnavailable: The database could not serve the call.
        """
        changes = update_values(
            expires_at=expires_at,
            data=data,
            last_seen_at=last_seen_at,
            authenticated_at=authenticated_at,
        )
        if data is not None:
            changes["data"] = data  # checked above; the JSON field encodes it itself
        if len(session_id) > self._id_length:
            return False
        with StoreCall(self._deadline, self._table):
            query = self.model.filter(id=session_id).using_db(self._db())
            if not changes:
                return await query.exists()
            updated: int = await query.update(**changes)
        return updated > 0

    async def delete(self, session_id: str) -> bool:
        """Remove one record; return whether it existed.

        Raises:
            StoreUnavailable: The database could not serve the call.
        """
        if len(session_id) > self._id_length:
            return False
        with StoreCall(self._deadline, self._table):
            deleted: int = await self.model.filter(id=session_id).using_db(self._db()).delete()
        return deleted > 0

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Remove every record of `user_id` but the one with id `keep`; return how many.

        One DELETE (`... WHERE user_id = $1 AND NOT id = $2` when `keep` is given).

        Raises:
            StoreUnavailable: The database could not serve the call.
        """
        if len(user_id) > self._user_id_length:
            return 0
        with StoreCall(self._deadline, self._table):
            query = self.model.filter(user_id=user_id).using_db(self._db())
            if keep is not None and len(keep) <= self._id_length:  # a longer id is no row
                query = query.exclude(id=keep)
            deleted: int = await query.delete()
        return deleted

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        """Return every record of `user_id`, expired ones included.

        Raises:
            StoreUnavailable: The database could not serve the call.
        """
        if len(user_id) > self._user_id_length:
            return []
        with StoreCall(self._deadline, self._table):
            rows = (
                await self.model.filter(user_id=user_id).using_db(self._db()).values_list(*_COLUMNS)
            )
        return [_record(row) for row in rows]

    async def count_expired(self, now: datetime) -> int:
        """Return how many records have `expires_at <= now` (one SELECT count), removing none.

        Raises:
            ValueError: `now` is naive.
            StoreUnavailable: The database could not serve the call.
        """
        check_expiry_args(now, 1)
        with StoreCall(self._deadline, self._table):
            counted: int = await self.model.filter(expires_at__lte=now).using_db(self._db()).count()
        return counted

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        """Remove at most `limit` records with `expires_at <= now`; return how many.

        One DELETE of the ids chosen by a sub-select; rows another worker is deleting at the
        same moment are skipped rather than waited for.

        Raises:
            ValueError: `now` is naive or `limit` is below 1.
            StoreUnavailable: The database could not serve the call.
        """
        check_expiry_args(now, limit)
        with StoreCall(self._deadline, self._table):
            db = self._db()
            batch = (
                self.model.filter(expires_at__lte=now)
                .using_db(db)
                .limit(limit)
                .only("id")
                .select_for_update(skip_locked=True)
            )
            deleted: int = await self.model.filter(id__in=Subquery(batch)).using_db(db).delete()
        return deleted
