"""The store's SQL, built once per table and dialect from SQLAlchemy Core constructs.

`data` travels as JSON text both ways, encoded and decoded by FastAPI Anchor's own
`dump_data`/`load_data`, so every adapter writes the same text into the shared table and no
JSON codec of the engine is involved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
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

from anchor_sqlalchemy.table import COLUMNS
from fastapi_anchor.toolkit import UPDATABLE

__all__ = ["Statements"]


@dataclass(frozen=True)
class Statements:
    """Every statement `SQLAlchemyStore` runs, with the bind names its methods pass.

    Attributes:
        get: The record with id `:session_id`: the columns after `id`, data as text.
        exists: The id `:session_id`, if stored.
        insert: A new row from `:<column>_` for every column.
        updates: For each non-empty set of `UPDATABLE` columns, the UPDATE setting them to
            `:new_<column>` where id is `:session_id`.
        delete: Remove the row with id `:session_id`.
        list_user: The records of `:user_id`: every column, id first, data as text.
        delete_user: Remove the rows of `:user_id`.
        delete_user_but: Remove the rows of `:user_id` but the one with id `:keep`.
        delete_expired: Remove at most `:limit` rows with expires_at <= `:now`.
        count_expired: How many rows have expires_at <= `:now`.
    """

    get: Select[Any]
    exists: Select[Any]
    insert: Insert
    updates: Mapping[frozenset[str], Update]
    delete: Delete
    list_user: Select[Any]
    delete_user: Delete
    delete_user_but: Delete
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

        def value(column: str, name: str) -> ColumnElement[Any]:
            return json_text(name) if column == "data" else bindparam(name, type_=c[column].type)

        # The shared columns after id, in the schema's order, with data read as text.
        fields = [cast(c.data, Text()) if name == "data" else c[name] for name in COLUMNS[1:]]
        by_id = c.id == bindparam("session_id")
        by_user = c.user_id == bindparam("user_id")
        expired = c.expires_at <= bindparam("now", type_=c.expires_at.type)
        expired_ids = (
            select(c.id)
            .where(expired)
            .limit(bindparam("limit", type_=Integer()))
            .with_for_update(skip_locked=True)  # rendered on PostgreSQL; SQLite has no locks
        )
        updates = {
            frozenset(columns): update(table)
            .where(by_id)
            .values({column: value(column, f"new_{column}") for column in columns})
            for size in range(1, len(UPDATABLE) + 1)
            for columns in combinations(UPDATABLE, size)
        }
        return cls(
            get=select(*fields).where(by_id),
            exists=select(c.id).where(by_id),
            insert=insert(table).values({name: value(name, f"{name}_") for name in COLUMNS}),
            updates=updates,
            delete=delete(table).where(by_id),
            list_user=select(c.id, *fields).where(by_user),
            delete_user=delete(table).where(by_user),
            delete_user_but=delete(table).where(by_user, c.id != bindparam("keep")),
            delete_expired=delete(table).where(c.id.in_(expired_ids)),
            count_expired=select(func.count()).select_from(table).where(expired),
        )
