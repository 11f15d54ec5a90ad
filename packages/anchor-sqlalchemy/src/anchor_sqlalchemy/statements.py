"""The store's SQL, built once per table and dialect from SQLAlchemy Core constructs.

`data` travels as JSON text both ways, encoded and decoded by FastAPI Anchor's own
`dump_data`/`load_data`, so every adapter writes the same text into the shared table and no
JSON codec of the engine is involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Integer,
    Select,
    Table,
    Text,
    Update,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)

__all__ = ["Statements"]


@dataclass(frozen=True)
class Statements:
    """Every statement `SQLAlchemyStore` runs, with the bind names its methods pass.

    Attributes:
        get: The record with id `:session_id` (user_id, created_at, expires_at, data text).
        exists: The id `:session_id`, if stored.
        insert: A new row from `:id`, `:user_id`, `:data`, `:created_at`, `:expires_at`.
        update_expiry: Set expires_at to `:new_expires_at` where id is `:session_id`.
        update_data: Set data to `:new_data` where id is `:session_id`.
        update_both: Set both where id is `:session_id`.
        delete: Remove the row with id `:session_id`.
        list_user: The records of `:user_id` (id first).
        delete_user: Remove the rows of `:user_id`.
        delete_expired: Remove at most `:limit` rows with expires_at <= `:now`.
        count_expired: How many rows have expires_at <= `:now`.
    """

    get: Select[Any]
    exists: Select[Any]
    insert: Insert
    update_expiry: Update
    update_data: Update
    update_both: Update
    delete: Delete
    list_user: Select[Any]
    delete_user: Delete
    delete_expired: Delete
    count_expired: Select[Any]

    @classmethod
    def build(cls, table: Table, dialect_name: str) -> Statements:
        """Build the statements for `table` on the dialect named `dialect_name`."""
        c = table.c

        def json_text(name: str) -> ColumnElement[Any]:
            param = bindparam(name, type_=Text())
            if dialect_name == "sqlite":  # JSON is text there; CAST(? AS JSON) would be numeric
                return param
            return cast(param, c.data.type)

        data_text = cast(c.data, Text())
        by_id = c.id == bindparam("session_id")
        by_user = c.user_id == bindparam("user_id")
        new_expiry = bindparam("new_expires_at", type_=c.expires_at.type)
        expired = c.expires_at <= bindparam("now", type_=c.expires_at.type)
        expired_ids = (
            select(c.id)
            .where(expired)
            .limit(bindparam("limit", type_=Integer()))
            .with_for_update(skip_locked=True)  # rendered on PostgreSQL; SQLite has no locks
        )
        return cls(
            get=select(c.user_id, c.created_at, c.expires_at, data_text).where(by_id),
            exists=select(c.id).where(by_id),
            insert=insert(table).values(
                id=bindparam("id_", type_=c.id.type),
                user_id=bindparam("user_id_", type_=c.user_id.type),
                data=json_text("data_"),
                created_at=bindparam("created_at_", type_=c.created_at.type),
                expires_at=bindparam("expires_at_", type_=c.expires_at.type),
            ),
            update_expiry=update(table).where(by_id).values(expires_at=new_expiry),
            update_data=update(table).where(by_id).values(data=json_text("new_data")),
            update_both=update(table)
            .where(by_id)
            .values(expires_at=new_expiry, data=json_text("new_data")),
            delete=delete(table).where(by_id),
            list_user=select(c.id, c.user_id, c.created_at, c.expires_at, data_text).where(by_user),
            delete_user=delete(table).where(by_user),
            delete_expired=delete(table).where(c.id.in_(expired_ids)),
            count_expired=select(func.count()).select_from(table).where(expired),
        )
