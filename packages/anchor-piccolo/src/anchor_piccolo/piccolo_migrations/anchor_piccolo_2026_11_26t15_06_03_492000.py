"""Give the indexes the names every adapter uses (Piccolo names them `<table>_<column>`)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, index_name

ID = "2026-11-26T15:06:03:492000"
VERSION = "1.38.0"
DESCRIPTION = "Shared index names on anchor_sessions"

_INDEXED = ("user_id", "expires_at")


async def _rename(backwards: bool) -> None:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("Piccolo found no engine (set PICCOLO_CONF)")
    for column in _INDEXED:
        piccolo_name = f"{DEFAULT_TABLE_NAME}_{column}"
        shared_name = index_name(DEFAULT_TABLE_NAME, column)
        old, new = (shared_name, piccolo_name) if backwards else (piccolo_name, shared_name)
        await engine.run_ddl(f'ALTER INDEX IF EXISTS "{old}" RENAME TO "{new}"')


async def forwards() -> MigrationManager:
    """Rename `<table>_<column>` to `<table>_<column>_idx`; backwards renames them back."""
    manager = MigrationManager(migration_id=ID, app_name="anchor_piccolo", description=DESCRIPTION)

    async def run() -> None:
        await _rename(backwards=False)

    async def run_backwards() -> None:
        await _rename(backwards=True)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
