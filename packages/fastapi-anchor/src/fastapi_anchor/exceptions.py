"""Errors raised by FastAPI Anchor.

The tree::

    AnchorError
    ├── ConfigurationError        bad settings, raised at start-up (a ValueError too)
    └── StoreError                raised by a SessionStore
        ├── SessionExists         create() with an id that is already stored
        ├── StoreRejected         the database refused the call for good (privileges, schema
        │                         drift, bad data, a bug); the app answers 500
        └── StoreUnavailable      the store cannot answer now; the app answers 503 + Retry-After
            ├── StoreFull         MemoryStore reached its size bound
            └── TableMissing      the sessions table does not exist (not created or migrated);
                                  503 without Retry-After, since waiting does not create it

`fastapi_anchor.failures` decides which of these a database error is, by its SQLSTATE.
"""

from __future__ import annotations

__all__ = [
    "AnchorError",
    "ConfigurationError",
    "SessionExists",
    "StoreError",
    "StoreFull",
    "StoreRejected",
    "StoreUnavailable",
    "TableMissing",
]


class AnchorError(Exception):
    """Base class of every error FastAPI Anchor raises."""


class ConfigurationError(AnchorError, ValueError):
    """A setting is invalid; raised when the object is built, never per request."""


class StoreError(AnchorError):
    """Base class of the errors a `SessionStore` raises.

    Args:
        message: What happened, naming the cause (never a token, cookie or key).
        sqlstate: The database's SQLSTATE code behind the error, where there is one.
    """

    def __init__(self, message: str = "", *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class SessionExists(StoreError):
    """`create` was given an id that the store already holds; the stored record is unchanged."""


class StoreRejected(StoreError):
    """The database refused the call for a reason that retrying cannot fix.

    Missing privileges, a column the table lacks, a value a column refuses, an unsupported
    feature, an internal error: a deploy mistake or a bug, so the app answers 500 and the
    error is logged, rather than a 503 that hides it behind "try again shortly".
    """


class StoreUnavailable(StoreError):
    """The store cannot serve the call now (database down, pool exhausted, timeout).

    The core answers such requests with 503 and a `Retry-After` header, never 401 or 200.
    Adapters raise it from the driver's own exception, keeping that as `__cause__`.
    """


class StoreFull(StoreUnavailable):
    """`MemoryStore` holds its maximum number of live sessions and cannot take another."""


class TableMissing(StoreUnavailable):
    """The sessions table does not exist; the message names the command that creates it.

    The app answers 503 without `Retry-After` (waiting does not create a table) and logs the
    message as an error.
    """
