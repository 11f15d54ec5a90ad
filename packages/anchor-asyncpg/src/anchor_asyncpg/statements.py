"""The SQL the store sends, built once per table name.

`data` goes in as text cast to jsonb and comes out as text, so the statements work the same
whatever JSON codec the application has (or has not) registered on its connections.
"""

# The only text put into SQL here is the table name, validated and quoted by `quote_table`.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql, quote_table

__all__ = ["Statements"]


@dataclass(frozen=True, slots=True)
class Statements:
    """Every statement of `AsyncpgStore` for one table, validated and quoted once."""

    table: str
    """The quoted, qualified table name, like `"auth"."anchor_sessions"`."""
    create_table: tuple[str, ...]
    lock_table_creation: str
    insert: str
    get: str
    update_expires: str
    update_data: str
    update_both: str
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
        columns = "user_id, data::text, created_at, expires_at"
        return cls(
            table=name,
            create_table=tuple(create_table_sql(table, schema)),
            # Two processes creating the table at once can both pass IF NOT EXISTS and then
            # collide in the catalog; a transaction-scoped advisory lock serialises them.
            lock_table_creation="SELECT pg_advisory_xact_lock(hashtext($1))",
            insert=(
                f"INSERT INTO {name} (id, user_id, data, created_at, expires_at) "
                "VALUES ($1, $2, $3::text::jsonb, $4, $5)"
            ),
            get=f"SELECT {columns} FROM {name} WHERE id = $1",
            update_expires=f"UPDATE {name} SET expires_at = $2 WHERE id = $1",
            update_data=f"UPDATE {name} SET data = $2::text::jsonb WHERE id = $1",
            update_both=(
                f"UPDATE {name} SET expires_at = $2, data = $3::text::jsonb WHERE id = $1"
            ),
            exists=f"SELECT 1 FROM {name} WHERE id = $1",
            delete=f"DELETE FROM {name} WHERE id = $1",
            delete_user=f"DELETE FROM {name} WHERE user_id = $1",
            list_user=f"SELECT id, {columns} FROM {name} WHERE user_id = $1",
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
