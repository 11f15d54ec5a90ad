"""FastAPI Anchor: server-side session authentication for FastAPI.

Public names are re-exported here; each is defined in the module named by its `__module__`.
"""

from fastapi_anchor.anchor import (
    Anchor,
    OptionalSessionDependency,
    OriginCheck,
    RecentSessionDependency,
    SessionDependency,
)
from fastapi_anchor.cookies import CookieSettings, CookieSigner
from fastapi_anchor.csrf import OriginPolicy
from fastapi_anchor.devices import DeviceSession
from fastapi_anchor.exceptions import (
    AnchorError,
    ConfigurationError,
    SessionExists,
    StoreError,
    StoreFull,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.memory import MemoryStore
from fastapi_anchor.store import SessionRecord, SessionStore
from fastapi_anchor.tokens import hash_token, new_token

__version__ = "0.2.0"

__all__ = [
    "Anchor",
    "AnchorError",
    "ConfigurationError",
    "CookieSettings",
    "CookieSigner",
    "DeviceSession",
    "MemoryStore",
    "OptionalSessionDependency",
    "OriginCheck",
    "OriginPolicy",
    "RecentSessionDependency",
    "SessionDependency",
    "SessionExists",
    "SessionRecord",
    "SessionStore",
    "StoreError",
    "StoreFull",
    "StoreRejected",
    "StoreUnavailable",
    "TableMissing",
    "__version__",
    "hash_token",
    "new_token",
]
