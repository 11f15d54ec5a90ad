"""Schema 2 of `anchor_sessions`: five columns for devices, and the change-notification trigger.

The core's `upgrade_table_sql` does the work, so this migration, every adapter and a table
upgraded by hand end up identical: it adds the columns (each nullable or with a constant
default, so no row is rewritten and every session stays valid) and (re)creates the trigger.
Its statements are idempotent: a table another adapter already brought to schema 2 is fine.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import AddColumnCollection, MigrationManager
from piccolo.columns import Column
from piccolo.columns.column_types import Boolean, Timestamptz
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder

from anchor_piccolo.columns import RequiredVarchar
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, quote_table, upgrade_table_sql

ID = "2026-12-06T19:52:08:013636"
VERSION = "1.38.0"
DESCRIPTION = "Schema 2: device columns and the change-notification trigger"

_COMMON: dict[str, Any] = {
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}

_COLUMNS: tuple[tuple[str, type[Column], dict[str, Any]], ...] = (
    ("authenticated_at", Timestamptz, {"default": None, "null": True}),
    ("last_seen_at", Timestamptz, {"default": None, "null": True}),
    ("ip_address", RequiredVarchar, {"length": 45, "default": None, "null": True}),
    ("user_agent", RequiredVarchar, {"length": 512, "default": None, "null": True}),
    ("persistent", Boolean, {"default": True, "null": False}),
)


async def _execute(statements: list[str]) -> None:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("Piccolo found no engine (set PICCOLO_CONF)")
    for statement in statements:
        await engine.run_ddl(statement)  # in the migration's transaction


async def forwards() -> MigrationManager:
    """Add the columns and the trigger; backwards drops the trigger, then Piccolo the columns."""
    manager = MigrationManager(migration_id=ID, app_name="anchor_piccolo", description=DESCRIPTION)
    # Declared for Piccolo's schema snapshot (what `migrations new --auto` compares with
    # `AnchorSession`); forwards, the core's statements add them instead, in the shared order.
    for name, column_class, params in _COLUMNS:
        manager.add_column(
            table_class_name="AnchorSession",
            tablename=DEFAULT_TABLE_NAME,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={**params, **_COMMON},
            schema=None,
        )

    async def upgrade() -> None:
        manager.add_columns = AddColumnCollection()  # added here: Piccolo must not add them again
        await _execute(upgrade_table_sql(DEFAULT_TABLE_NAME))

    async def downgrade() -> None:
        # The triggers depend on the function and on the columns: drop them first.
        function = quote_table(f"{DEFAULT_TABLE_NAME}_notify")
        await _execute([f"DROP FUNCTION IF EXISTS {function}() CASCADE"])

    manager.add_raw(upgrade)
    manager.add_raw_backwards(downgrade)
    return manager
