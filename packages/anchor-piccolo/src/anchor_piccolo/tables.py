"""The Piccolo `Table` for the shared session table, and a factory binding it to an engine."""

from __future__ import annotations

from piccolo.columns import JSONB, Boolean, Timestamptz
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from anchor_piccolo.columns import RequiredVarchar
from fastapi_anchor.store import MAX_IP_ADDRESS_LENGTH, MAX_USER_AGENT_LENGTH
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, index_name, quote_table

__all__ = ["AnchorSession", "sessions_table"]


class AnchorSession(Table, tablename=DEFAULT_TABLE_NAME):
    """A stored session, one row of the shared `anchor_sessions` table.

    Column for column the table `fastapi_anchor.toolkit.create_table_sql` describes (schema
    2): no column has a default except `data` (`'{}'`) and `persistent` (true), the five
    columns after `expires_at` are nullable but `persistent`, and the two indexes carry the
    shared names. The change-notification trigger is not Piccolo's to describe: the app's
    migration and `PiccoloStore.create_table` create it with the core's SQL.
    This class is not bound to an engine (Piccolo finds one in `piccolo_conf` when asked);
    stores use `sessions_table`, which binds a subclass to the application's engine.
    """

    id = RequiredVarchar(length=64, primary_key=True, default=None)
    user_id = RequiredVarchar(length=255, default=None, index=True)
    data = JSONB(default="{}")
    created_at = Timestamptz(default=None)
    expires_at = Timestamptz(default=None, index=True)
    authenticated_at = Timestamptz(default=None, null=True)
    last_seen_at = Timestamptz(default=None, null=True)
    ip_address = RequiredVarchar(length=MAX_IP_ADDRESS_LENGTH, default=None, null=True)
    user_agent = RequiredVarchar(length=MAX_USER_AGENT_LENGTH, default=None, null=True)
    persistent = Boolean(default=True)

    @classmethod
    def _get_index_name(cls, column_names: list[str]) -> str:
        # Piccolo names an index "<table>_<columns>"; the shared schema adds "_idx".
        return index_name(cls._meta.tablename, "_".join(column_names))


def sessions_table(
    engine: PostgresEngine,
    *,
    table: str = DEFAULT_TABLE_NAME,
    schema: str | None = None,
) -> type[AnchorSession]:
    """Return a subclass of `AnchorSession` bound to `engine`, for the table `table`.

    Piccolo binds a table class to its engine when the class is created, so each call makes a
    new class: two engines (or two table names) never share one.

    Raises:
        ValueError: `table` or `schema` is not a plain identifier.
    """
    quote_table(table, schema)  # validates both names
    return type(
        "AnchorSession",
        (AnchorSession,),
        {},
        tablename=table,
        db=engine,
        schema=schema,
    )
