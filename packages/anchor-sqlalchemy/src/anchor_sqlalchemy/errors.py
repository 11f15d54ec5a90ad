"""Translate SQLAlchemy and driver errors into the store errors of FastAPI Anchor.

Decisions rest on the driver's error classes and SQLSTATE codes, never on message text:

- a unique violation (SQLSTATE 23505; SQLite's primary-key or unique constraint) is
  `SessionExists`;
- an undefined table (SQLSTATE 42P01) is `TableMissing`, whose message says how to create it
  (SQLite gives no code for it: the store checks the table itself, see `SQLAlchemyStore`);
- lost or refused connections, pool timeouts, and server states that pass (SQLSTATE classes 08
  connection, 53 resources, 57 operator intervention and timeouts, 58 system) are
  `StoreUnavailable`.

Anything else (a bad query, a NOT NULL violation) is a bug to see, so it is not translated.
"""

from __future__ import annotations

import asyncio
import sqlite3

from sqlalchemy import exc as sa_exc

from fastapi_anchor.store import SessionExists, StoreError, StoreUnavailable, TableMissing

__all__ = ["busy_server", "store_error", "table_missing", "unavailable"]

_UNIQUE_VIOLATION = "23505"
_UNDEFINED_TABLE = "42P01"
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
_BUSY_CLASSES = _UNAVAILABLE_CLASSES - {"08"}  # the server answers, but not now
# sqlite3's extended result codes; the constants are in the sqlite3 module from Python 3.11.
_SQLITE_CONSTRAINT_PRIMARYKEY = 1555
_SQLITE_CONSTRAINT_UNIQUE = 2067
_CONNECTION_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, sa_exc.DisconnectionError)


def _sqlstate(error: BaseException | None) -> str:
    """Return the SQLSTATE a driver error carries (asyncpg, psycopg), or an empty string."""
    for attribute in ("sqlstate", "pgcode"):
        code = getattr(error, attribute, None)
        if isinstance(code, str):
            return code
    return ""


def _is_unique_violation(error: BaseException | None) -> bool:
    if _sqlstate(error) == _UNIQUE_VIOLATION:
        return True
    if isinstance(error, sqlite3.IntegrityError):
        code = getattr(error, "sqlite_errorcode", None)
        # Python 3.10 gives no code; a valid record breaks no other constraint of the table.
        return code is None or code in (_SQLITE_CONSTRAINT_PRIMARYKEY, _SQLITE_CONSTRAINT_UNIQUE)
    return False


def _is_unavailable(error: sa_exc.DBAPIError) -> bool:
    if error.connection_invalidated:
        return True
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    return _sqlstate(error.orig)[:2] in _UNAVAILABLE_CLASSES


def busy_server(error: BaseException) -> bool:
    """Whether a driver error is the server refusing for now on a live connection.

    SQLSTATE classes 53 (resources), 57 (operator intervention, statement timeout, query
    canceled) and 58 (system). Repeating the statement would only wait again.
    """
    return _sqlstate(error)[:2] in _BUSY_CLASSES


def unavailable(error: BaseException) -> StoreUnavailable:
    """The `StoreUnavailable` to raise `from error` when the database cannot answer now."""
    return StoreUnavailable(f"the session database is unavailable: {type(error).__name__}")


def table_missing(table: str) -> TableMissing:
    """Return the `TableMissing` error for `table`, saying how to create it."""
    return TableMissing(
        f"the sessions table {table!r} does not exist: create it with an Alembic migration "
        "(alembic revision --autogenerate, with the table on target_metadata), "
        "metadata.create_all, or await store.create_table()"
    )


def store_error(error: BaseException, table: str) -> StoreError | None:
    """Return the store error that `error` stands for, or None to let it propagate as is.

    The caller raises the result `from error`, so the driver's error stays the `__cause__`.

    Args:
        error: What SQLAlchemy or the driver raised.
        table: The (qualified) name of the sessions table, for `TableMissing`'s message.
    """
    if isinstance(error, sa_exc.DBAPIError) and _sqlstate(error.orig) == _UNDEFINED_TABLE:
        return table_missing(table)
    if isinstance(error, sa_exc.IntegrityError):
        if _is_unique_violation(error.orig):
            return SessionExists("a session with this id is already stored")
        return None
    if isinstance(error, sa_exc.TimeoutError):
        return StoreUnavailable("timed out waiting for a database connection from the pool")
    if isinstance(error, sa_exc.DBAPIError):
        if _is_unavailable(error):
            return unavailable(error)
        return None
    if isinstance(error, _CONNECTION_ERRORS) or _sqlstate(error)[:2] in _UNAVAILABLE_CLASSES:
        return StoreUnavailable(f"cannot reach the session database: {type(error).__name__}")
    return None
