"""The Piccolo app: add `"anchor_piccolo.piccolo_app"` to `APP_REGISTRY` in `piccolo_conf.py`.

Then `piccolo migrations forwards anchor_piccolo` creates the shared `anchor_sessions` table.
"""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from anchor_piccolo.tables import AnchorSession

__all__ = ["APP_CONFIG"]

APP_CONFIG = AppConfig(
    app_name="anchor_piccolo",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[AnchorSession],
    migration_dependencies=[],
    commands=[],
)
