"""anchor-tortoise: FastAPI Anchor sessions in PostgreSQL through Tortoise ORM.

Add `"anchor_tortoise.models"` to an app's `"models"` in your Tortoise config and give
`TortoiseStore()` to `Anchor`.
"""

from anchor_tortoise.dsn import credentials_from_dsn
from anchor_tortoise.factory import sessions_table
from anchor_tortoise.store import TortoiseStore
from fastapi_anchor.toolkit import skip_reset

__version__ = "0.2.0"

__all__ = [
    "TortoiseStore",
    "__version__",
    "credentials_from_dsn",
    "sessions_table",
    "skip_reset",
]
