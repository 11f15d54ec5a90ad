"""anchor-asyncpg: FastAPI Anchor sessions in PostgreSQL on a raw asyncpg pool.

Public names are re-exported here; each is defined in the module named by its `__module__`.
"""

from anchor_asyncpg.store import AsyncpgStore
from fastapi_anchor.toolkit import skip_reset

__version__ = "0.2.0"

__all__ = [
    "AsyncpgStore",
    "__version__",
    "skip_reset",
]
