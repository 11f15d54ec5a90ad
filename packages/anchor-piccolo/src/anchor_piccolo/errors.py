"""Which driver errors mean what: a duplicate id, or a database that cannot answer now."""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]

__all__ = ["MISSING_TABLE_ERRORS", "UNAVAILABLE_ERRORS", "UNIQUE_VIOLATION"]

UNIQUE_VIOLATION = asyncpg.UniqueViolationError
"""Piccolo lets asyncpg's error through unwrapped; `create` turns it into `SessionExists`."""

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, unreachable, reset (ConnectionError is a subclass)
    asyncio.TimeoutError,  # connect or pool timeouts, and the store's own `timeout`
    asyncpg.PostgresConnectionError,  # class 08, and ConnectionDoesNotExistError (lost mid-query)
    asyncpg.InterfaceError,  # pool closing or closed, connection closed
    # A connection the server has just terminated can fail its next query with this
    # instead (about one time in four here); the pool replaces it for the next call.
    asyncpg.InternalClientError,
    asyncpg.InsufficientResourcesError,  # class 53, such as TooManyConnectionsError
    asyncpg.OperatorInterventionError,  # class 57: admin shutdown, cannot connect now
)
"""Errors that become `StoreUnavailable` (the app answers 503 and the client retries)."""

MISSING_TABLE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.UndefinedTableError,  # 42P01: no such table (or no such schema, in a query)
)
"""Errors that become `TableMissing` (a `StoreUnavailable` that says how to create the table)."""
