"""Piccolo ORM session store for FastAPI Anchor, on the shared `anchor_sessions` table.

Public names are re-exported here; each is defined in the module named by its `__module__`.
Add `"anchor_piccolo.piccolo_app"` to `APP_REGISTRY` for the table's migrations.
"""

from anchor_piccolo.store import PiccoloStore
from anchor_piccolo.tables import AnchorSession, sessions_table
from fastapi_anchor.toolkit import skip_reset

__version__ = "0.2.0"

__all__ = [
    "AnchorSession",
    "PiccoloStore",
    "__version__",
    "sessions_table",
    "skip_reset",
]
