"""`sessions_table`: the shared session table as a SQLAlchemy `Table` on the caller's `MetaData`."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, MetaData, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB

from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, index_name

__all__ = ["COLUMNS", "sessions_table"]

COLUMNS = ("id", "user_id", "data", "created_at", "expires_at")
"""Column names every session table has, in the shared schema's order."""


def sessions_table(
    metadata: MetaData, table: str = DEFAULT_TABLE_NAME, *, schema: str | None = None
) -> Table:
    """Define the shared session table on `metadata` and return it.

    Put it on the application's own `MetaData` so that `metadata.create_all` creates it and
    Alembic autogenerate proposes it in a migration. The columns match the table every FastAPI
    Anchor adapter shares: on PostgreSQL `data` is jsonb and the datetimes are timestamptz; on
    SQLite (development) `data` is JSON text.

    Args:
        metadata: The application's `MetaData`.
        table: Table name.
        schema: Database schema holding the table; None for the default one.

    Returns:
        The `Table`, with its indexes on `user_id` and `expires_at`.
    """
    name = table
    return Table(
        name,
        metadata,
        Column("id", String(64), primary_key=True),
        Column("user_id", String(255), nullable=False),
        Column(
            "data",
            JSON().with_variant(JSONB(), "postgresql"),
            nullable=False,
            server_default=text("'{}'"),
        ),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Index(index_name(name, "user_id"), "user_id"),
        Index(index_name(name, "expires_at"), "expires_at"),
        schema=schema,
    )
