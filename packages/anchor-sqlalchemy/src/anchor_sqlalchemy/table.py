"""`sessions_table`: the shared session table as a SQLAlchemy `Table` on the caller's `MetaData`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    event,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from fastapi_anchor.store import MAX_IP_ADDRESS_LENGTH, MAX_USER_AGENT_LENGTH, MAX_USER_ID_LENGTH
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, index_name, notify_trigger_sql

__all__ = ["COLUMNS", "sessions_table"]

COLUMNS = (
    "id",
    "user_id",
    "data",
    "created_at",
    "expires_at",
    "authenticated_at",
    "last_seen_at",
    "ip_address",
    "user_agent",
    "persistent",
)
"""Column names every session table has, in the shared schema's order (schema 2)."""


def sessions_table(
    metadata: MetaData, table: str = DEFAULT_TABLE_NAME, *, schema: str | None = None
) -> Table:
    """Define the shared session table on `metadata` and return it.

    Put it on the application's own `MetaData` so that `metadata.create_all` creates it and
    Alembic autogenerate proposes it in a migration. The columns match the table every FastAPI
    Anchor adapter shares (schema 2): on PostgreSQL `data` is jsonb and the datetimes are
    timestamptz; on SQLite (development) `data` is JSON text.

    On PostgreSQL, creating the table (`metadata.create_all`, `Table.create`) also creates the
    change-notification trigger of the shared schema (`fastapi_anchor.toolkit.notify_trigger_sql`),
    in the schema the table is created in. Other databases get the table alone.

    Args:
        metadata: The application's `MetaData`.
        table: Table name.
        schema: Database schema holding the table; None for the default one.

    Returns:
        The `Table`, with its indexes on `user_id` and `expires_at`.
    """
    name = table
    sessions = Table(
        name,
        metadata,
        Column("id", String(64), primary_key=True),
        Column("user_id", String(MAX_USER_ID_LENGTH), nullable=False),
        Column(
            "data",
            JSON().with_variant(JSONB(), "postgresql"),
            nullable=False,
            server_default=text("'{}'"),
        ),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        # Nullable: a row written by code older than these columns reads them as created_at.
        Column("authenticated_at", DateTime(timezone=True), nullable=True),
        Column("last_seen_at", DateTime(timezone=True), nullable=True),
        Column("ip_address", String(MAX_IP_ADDRESS_LENGTH), nullable=True),
        Column("user_agent", String(MAX_USER_AGENT_LENGTH), nullable=True),
        Column("persistent", Boolean(), nullable=False, server_default=true()),
        Index(index_name(name, "user_id"), "user_id"),
        Index(index_name(name, "expires_at"), "expires_at"),
        schema=schema,
    )
    event.listen(sessions, "after_create", _create_trigger)
    return sessions


def _create_trigger(target: Table, connection: Any, **_kw: Any) -> None:
    """Run the core's trigger statements after the table is created, on PostgreSQL only."""
    if connection.dialect.name != "postgresql":
        return  # no pg_notify: nothing listens for changes there
    # The schema the table went to, an engine's schema_translate_map applied.
    schema = connection.schema_for_object(target)
    for statement in notify_trigger_sql(target.name, schema):
        connection.execute(literal_ddl(statement))


def literal_ddl(statement: str) -> DDL:
    """`statement` as a `DDL` element, run as written.

    Not `text()`, which would read `:name` as a bind parameter; `DDL` formats its text with
    `%`, so percent signs are doubled.
    """
    return DDL(statement.replace("%", "%%"))  # type: ignore[no-untyped-call]
