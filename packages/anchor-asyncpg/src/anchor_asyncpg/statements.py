"""The SQL the store sends, built once per table name.

`data` goes in as text cast to jsonb and comes out as text, so the statements work the same
whatever JSON codec the application has (or has not) registered on its connections.
"""

# The only text put into SQL here is the table name, validated and quoted by `quote_table`.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from fastapi_anchor.toolkit import (
    DEFAULT_TABLE_NAME,
    LOCK_TABLE_SQL,
    NEW_COLUMNS,
    UPDATABLE,
    create_table_sql,
    notify_trigger_names,
    notify_trigger_sql,
    quote_table,
    upgrade_table_sql,
)

__all__ = ["Statements"]

_READ = (
    "user_id, data::text AS data, created_at, expires_at, "
    "authenticated_at, last_seen_at, ip_address, user_agent, persistent"
)
_WRITTEN = (
    "id, user_id, data, created_at, expires_at, "
    "authenticated_at, last_seen_at, ip_address, user_agent, persistent"
)


@dataclass(frozen=True, slots=True)
class Statements:
    """Every statement of `AsyncpgStore` for one table, validated and quoted once."""

    table: str
    """The quoted, qualified table name, like `"auth"."anchor_sessions"`."""
    create_table: tuple[str, ...]
    """`create_table_sql` without the trigger: the table (schema 2) and its indexes."""
    lacks: str
    """Whether the table lacks a column of schema 2 (a schema 1 table), and whether it lacks
    a trigger of `notify_trigger_sql`: `$1` the table."""
    add_columns: tuple[str, ...]
    """`upgrade_table_sql` without the trigger: the columns schema 2 adds."""
    notify_trigger: tuple[str, ...]
    upgrade_table: tuple[str, ...]
    lock_table_creation: str
    insert: str
    get: str
    update: Mapping[tuple[str, ...], str]
    """One `UPDATE` per set of `UPDATABLE` columns given (in that order): `$1` the id."""
    exists: str
    delete: str
    delete_user: str
    list_user: str
    delete_expired: str
    count_expired: str

    @classmethod
    def build(cls, table: str = DEFAULT_TABLE_NAME, schema: str | None = None) -> Statements:
        """Return the statements for `table` in `schema` (the search path's first when None).

        Raises:
            ValueError: `table` or `schema` is not a plain identifier.
        """
        name = quote_table(table, schema)
        trigger = notify_trigger_sql(table, schema)
        columns = _names(column for column, _ in NEW_COLUMNS)
        triggers = _names(notify_trigger_names(table))
        return cls(
            table=name,
            create_table=_without(create_table_sql(table, schema), trigger),
            lacks=(
                f"SELECT NOT {columns} <@ ARRAY(SELECT attname FROM pg_attribute "
                "WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped), "
                f"NOT {triggers} <@ ARRAY(SELECT tgname FROM pg_trigger "
                "WHERE tgrelid = $1::text::regclass)"
            ),
            add_columns=_without(upgrade_table_sql(table, schema), trigger),
            notify_trigger=tuple(trigger),
            upgrade_table=tuple(upgrade_table_sql(table, schema)),
            lock_table_creation=LOCK_TABLE_SQL,
            insert=(
                f"INSERT INTO {name} ({_WRITTEN}) "
                "VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, $7, $8, $9, $10)"
            ),
            get=f"SELECT {_READ} FROM {name} WHERE id = $1",
            update={
                columns: _update(name, columns)
                for count in range(1, len(UPDATABLE) + 1)
                for columns in combinations(UPDATABLE, count)
            },
            exists=f"SELECT 1 FROM {name} WHERE id = $1",
            delete=f"DELETE FROM {name} WHERE id = $1",
            # With `$2` NULL (no session kept) every row of the user goes.
            delete_user=f"DELETE FROM {name} WHERE user_id = $1 AND id IS DISTINCT FROM $2",
            list_user=f"SELECT id, {_READ} FROM {name} WHERE user_id = $1",
            # Oldest first through the expires_at index, a bounded batch per statement.
            # SKIP LOCKED lets concurrent cleaners share the work instead of queueing; a row
            # refreshed meanwhile is re-checked against `expires_at <= $1` and kept.
            delete_expired=(
                f"DELETE FROM {name} WHERE id IN ("
                f"SELECT id FROM {name} WHERE expires_at <= $1 "
                "ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            ),
            count_expired=f"SELECT count(*) FROM {name} WHERE expires_at <= $1",
        )


def _names(names: Iterable[str]) -> str:
    """A `name[]` literal of plain identifiers (the table's, or derived from it)."""
    return "ARRAY[" + ", ".join(f"'{name}'" for name in names) + "]::name[]"


def _without(statements: Sequence[str], left_out: Sequence[str]) -> tuple[str, ...]:
    return tuple(statement for statement in statements if statement not in left_out)


def _update(name: str, columns: Sequence[str]) -> str:
    values = (
        f"{column} = ${number}{'::text::jsonb' if column == 'data' else ''}"
        for number, column in enumerate(columns, start=2)
    )
    return f"UPDATE {name} SET {', '.join(values)} WHERE id = $1"
