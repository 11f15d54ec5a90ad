"""Errors raised by FastAPI Anchor.

The tree::

    AnchorError
    ├── ConfigurationError        bad settings, raised at start-up (a ValueError too)
    └── StoreError                raised by a SessionStore
        ├── SessionExists         create() with an id that is already stored
        └── StoreUnavailable      the store cannot answer now; the app answers 503
            ├── StoreFull         MemoryStore reached its size bound
            └── TableMissing      the sessions table does not exist (not created or migrated)
"""

from __future__ import annotations

__all__ = [
    "AnchorError",
    "ConfigurationError",
    "SessionExists",
    "StoreError",
    "StoreFull",
    "StoreUnavailable",
    "TableMissing",
]


class AnchorError(Exception):
    """Base class of every error FastAPI Anchor raises."""


class ConfigurationError(AnchorError, ValueError):
    """A setting is invalid; raised when the object is built, never per request."""


class StoreError(AnchorError):
    """Base class of the errors a `SessionStore` raises."""


class SessionExists(StoreError):
    """`create` was given an id that the store already holds; the stored record is unchanged."""


class StoreUnavailable(StoreError):
    """The store cannot serve the call now (database down, pool exhausted, timeout).

    The core answers such requests with 503 and a `Retry-After` header, never 401 or 200.
    Adapters raise it from the driver's own exception, keeping that as `__cause__`.
    """


class StoreFull(StoreUnavailable):
    """`MemoryStore` holds its maximum number of live sessions and cannot take another."""


class TableMissing(StoreUnavailable):
    """The sessions table does not exist; the message names the command that creates it."""
