"""Helpers for the application's Alembic revisions: the shared table's upgrade and its trigger.

Call them from a revision's `upgrade()` with Alembic's `op`. They run the statements of
`fastapi_anchor.toolkit` (`upgrade_table_sql`, `notify_trigger_sql`) on PostgreSQL and do
nothing on other databases (SQLite has no `pg_notify`); in offline mode (`alembic upgrade
--sql`) the statements are written to the script. Alembic itself is not imported here.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.engine import Dialect

from anchor_sqlalchemy.table import literal_ddl
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, notify_trigger_sql, upgrade_table_sql

__all__ = ["create_trigger", "upgrade_table"]


class _Context(Protocol):
    @property
    def dialect(self) -> Dialect:
        """The database's dialect."""
        ...


class Operations(Protocol):
    """What the helpers use of Alembic's `op` (`alembic.operations.Operations`)."""

    def execute(self, sqltext: Any) -> Any:
        """Run a statement in the migration's transaction (or write it, offline)."""
        ...

    def get_context(self) -> _Context:
        """The running `MigrationContext`."""
        ...


def upgrade_table(
    op: Operations, table: str = DEFAULT_TABLE_NAME, *, schema: str | None = None
) -> None:
    """Bring the sessions table from schema 1 (five columns) to schema 2.

    Adds `authenticated_at`, `last_seen_at`, `ip_address`, `user_agent` and `persistent`
    without rewriting a row (each is nullable or has a constant default), and the
    change-notification trigger. Idempotent: a table already at schema 2 is left as it is.
    Sessions stay valid throughout; rows written earlier read `authenticated_at` and
    `last_seen_at` as their `created_at`.

    Args:
        op: Alembic's `op`, as imported in the revision (`from alembic import op`).
        table: The table's name.
        schema: The table's schema; None for the default one.
    """
    _run(op, upgrade_table_sql(table, schema))


def create_trigger(
    op: Operations, table: str = DEFAULT_TABLE_NAME, *, schema: str | None = None
) -> None:
    """(Re)create the change-notification trigger of the sessions table.

    For the revision that creates the table: autogenerate writes `op.create_table(...)`,
    which makes the columns and indexes but not the trigger; add this call after it.

    Args:
        op: Alembic's `op`, as imported in the revision (`from alembic import op`).
        table: The table's name.
        schema: The table's schema; None for the default one.
    """
    _run(op, notify_trigger_sql(table, schema))


def _run(op: Operations, statements: list[str]) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for statement in statements:
        op.execute(literal_ddl(statement))
