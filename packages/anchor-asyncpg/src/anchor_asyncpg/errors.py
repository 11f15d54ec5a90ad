"""Which asyncpg errors mean "PostgreSQL cannot answer now" (`StoreUnavailable`, a 503).

Classified by exception class (SQLSTATE), never by message text. A missing table (or schema)
is `TableMissing`, a `StoreUnavailable` whose message says how to create it. Other errors that
retrying cannot fix, such as a value a column refuses, pass through unchanged: they are bugs.
"""

# asyncpg ships no type information; asyncpg-stubs adds it where installed.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import asyncio

import asyncpg

from fastapi_anchor.store import StoreUnavailable, TableMissing

__all__ = [
    "MISSING_TABLE_ERRORS",
    "STALE_CONNECTION_ERRORS",
    "UNAVAILABLE_ERRORS",
    "missing_table",
    "unavailable",
]

UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # connection refused or reset, host unreachable, DNS failure
    asyncio.TimeoutError,  # the call's timeout: waiting for a connection, connecting, a statement
    asyncpg.PostgresConnectionError,  # class 08, with ConnectionDoesNotExistError (lost mid-query)
    asyncpg.OperatorInterventionError,  # class 57: admin shutdown, query canceled, starting up
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, disk full
    asyncpg.TransactionRollbackError,  # class 40: serialization failure, deadlock
    asyncpg.ReadOnlySQLTransactionError,  # 25006: a replica during failover
    asyncpg.InvalidAuthorizationSpecificationError,  # class 28: the login was refused
    asyncpg.InvalidCatalogNameError,  # 3D000: the database does not exist (yet)
    asyncpg.InterfaceError,  # the pool or the connection is closed
    asyncpg.InternalClientError,  # a connection in an unknown state (killed under a call)
)
"""Exception classes turned into `StoreUnavailable`.

An `InterfaceError` that is also a `ValueError` (a bad argument) is re-raised unchanged.
"""


STALE_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # but not TimeoutError (an OSError too): a slow statement kills no connection
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,  # 57P01: pg_terminate_backend, or a server shutting down
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)
"""Errors after which the pool's idle connections are likely dead too (a server restart).

The store then expires the pool's connections, so each is replaced on its next use instead
of failing one more request first.
"""


MISSING_TABLE_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.UndefinedTableError,  # 42P01
    asyncpg.InvalidSchemaNameError,  # 3F000: the `schema` option names no schema
)
"""Errors that become `TableMissing`."""


def missing_table(table: str) -> TableMissing:
    """Return the `TableMissing` to raise when `table` (quoted, qualified) does not exist."""
    return TableMissing(
        f"the sessions table {table} does not exist: create it with "
        "`await store.create_table()` (AsyncpgStore.create_table) or with the SQL of "
        "fastapi_anchor.toolkit.create_table_sql() in your migrations"
    )


def unavailable(exc: Exception) -> StoreUnavailable:
    """Return the `StoreUnavailable` to raise `from exc`, naming the driver's error."""
    return StoreUnavailable(f"PostgreSQL unavailable: {type(exc).__name__}: {exc}")
