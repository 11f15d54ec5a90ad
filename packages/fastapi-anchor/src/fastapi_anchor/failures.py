"""One answer to every database failure, whatever the adapter: classified by SQLSTATE.

Each PostgreSQL adapter catches what its library raised and calls `store_error`, which walks
the exception's chain (`__cause__`, `__context__`, SQLAlchemy's `.orig`) down to the driver's
error and its SQLSTATE, then decides:

- transient, `StoreUnavailable` (503 + Retry-After): class 08 (connection), 40000, 40001,
  40003, 40P01 (serialization failure, deadlock), class 53 (resources), 55P03 (lock not
  available), 57014 (statement timeout), 57P01-57P03 and 57P05 (shutdown, starting up, idle
  session timeout), 58000 and 58030 (system, I/O), 25006 (read-only: a replica during failover);
- missing table, `TableMissing` (503 without Retry-After, logged as an error): 42P01, 3F000;
- duplicate id, `SessionExists`: 23505 on `create` (the core mints another token);
- anything else is a mistake, `StoreRejected` (500): privileges (42501), schema drift (42703),
  data errors (class 22), constraint violations (class 23), 0A000, XX000 and the rest.

Errors without a SQLSTATE are unavailability when they are connection or time-out errors
(`OSError`, `TimeoutError`, asyncpg's interface errors, what the adapter adds such as a pool
time-out); anything else, such as a bad argument, is not the database's doing and propagates.
No driver is imported at import time.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterator
from functools import cache

from fastapi_anchor.exceptions import (
    SessionExists,
    StoreError,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)

__all__ = [
    "Failure",
    "classify",
    "classify_sqlstate",
    "connection_lost",
    "describe",
    "find_sqlstate",
    "store_error",
]


class Failure(enum.Enum):
    """What a database error means for the caller."""

    TRANSIENT = "transient"
    """The database cannot answer now; retrying later may work (`StoreUnavailable`)."""
    TABLE_MISSING = "table missing"
    """The sessions table (or its schema) does not exist (`TableMissing`)."""
    DUPLICATE = "duplicate"
    """A unique violation: on `create`, the id is taken (`SessionExists`)."""
    MISTAKE = "mistake"
    """A deploy mistake or a bug that retrying cannot fix (`StoreRejected`)."""


_TRANSIENT_CLASSES = frozenset({"08", "53"})
_TRANSIENT_CODES = frozenset(
    {
        "25006",  # read_only_sql_transaction: a replica, or a primary during failover
        "40000",  # transaction_rollback
        "40001",  # serialization_failure
        "40003",  # statement_completion_unknown
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
        "57014",  # query_canceled: statement_timeout, lock_timeout
        "57P01",  # admin_shutdown (also pg_terminate_backend)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up, or in recovery
        "57P05",  # idle_session_timeout
        "58000",  # system_error
        "58030",  # io_error
    }
)
_MISSING_TABLE_CODES = frozenset({"42P01", "3F000"})  # undefined_table, invalid_schema_name
_UNIQUE_VIOLATION = "23505"
_LOST_CONNECTION_CODES = frozenset({"57P01", "57P02", "57P05"})

_NAMES = {
    "08000": "connection_exception",
    "08003": "connection_does_not_exist",
    "08006": "connection_failure",
    "22001": "string_data_right_truncation",
    "23505": "unique_violation",
    "23514": "check_violation",
    "25006": "read_only_sql_transaction",
    "40001": "serialization_failure",
    "40P01": "deadlock_detected",
    "42501": "insufficient_privilege",
    "42703": "undefined_column",
    "42P01": "undefined_table",
    "3F000": "invalid_schema_name",
    "53300": "too_many_connections",
    "55P03": "lock_not_available",
    "57014": "query_canceled",
    "57P01": "admin_shutdown",
    "57P03": "cannot_connect_now",
    "0A000": "feature_not_supported",
    "XX000": "internal_error",
}


def classify_sqlstate(sqlstate: str) -> Failure:
    """Return what a SQLSTATE means (the table in this module's docstring)."""
    if sqlstate in _TRANSIENT_CODES or sqlstate[:2] in _TRANSIENT_CLASSES:
        return Failure.TRANSIENT
    if sqlstate in _MISSING_TABLE_CODES:
        return Failure.TABLE_MISSING
    if sqlstate == _UNIQUE_VIOLATION:
        return Failure.DUPLICATE
    return Failure.MISTAKE


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it wraps: `.orig` (SQLAlchemy), `__cause__`, `__context__`."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for inner in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(inner, BaseException):
                pending.append(inner)


def _code_of(error: BaseException) -> str | None:
    for attribute in ("sqlstate", "pgcode"):  # asyncpg and SQLAlchemy's adapter; psycopg
        code = getattr(error, attribute, None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def find_sqlstate(error: BaseException) -> str | None:
    """Return the SQLSTATE the database sent, found anywhere in `error`'s chain, or None."""
    for link in _chain(error):
        code = _code_of(link)
        if code is not None:
            return code
    return None


@cache
def _driver_transient() -> tuple[type[BaseException], ...]:
    """Asyncpg's client-side errors for a closed pool or a connection in an unknown state."""
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - every PostgreSQL adapter brings asyncpg
        return ()
    return (asyncpg.InterfaceError, asyncpg.InternalClientError)


def _is_transient(error: BaseException, extra: tuple[type[BaseException], ...]) -> bool:
    if isinstance(error, (ValueError, TypeError)):
        return False  # a bad argument (some driver interface errors are ValueErrors too)
    return isinstance(error, (OSError, asyncio.TimeoutError, *_driver_transient(), *extra))


def classify(
    error: BaseException, *, transient: tuple[type[BaseException], ...] = ()
) -> Failure | None:
    """Return what `error` means, or None when it is not a database failure at all.

    Args:
        error: What the adapter's library raised.
        transient: The library's own classes for "cannot answer now" errors that carry no
            SQLSTATE (say SQLAlchemy's pool time-out); `OSError`, `TimeoutError` and asyncpg's
            interface errors are always counted.
    """
    if isinstance(error, (ValueError, TypeError)):
        return None  # a bad argument (some driver interface errors are ValueErrors too)
    sqlstate = find_sqlstate(error)
    if sqlstate is not None:
        return classify_sqlstate(sqlstate)
    if any(_is_transient(link, transient) for link in _chain(error)):
        return Failure.TRANSIENT
    return None


def connection_lost(error: BaseException) -> bool:
    """Whether `error` says the connection is gone (so the pool's others likely are too).

    True for SQLSTATE class 08, a terminated backend (57P01, 57P02, 57P05), a socket error and
    asyncpg's interface errors; False for a time-out, which kills no connection.
    """
    sqlstate = find_sqlstate(error)
    if sqlstate is not None:
        return sqlstate[:2] == "08" or sqlstate in _LOST_CONNECTION_CODES
    for link in _chain(error):
        if isinstance(link, (TimeoutError, asyncio.TimeoutError, ValueError, TypeError)):
            return False
        if isinstance(link, (OSError, *_driver_transient())):
            return True
    return False


def describe(error: BaseException) -> str:
    """Name the database's complaint in one line: the SQLSTATE, its name and the message.

    Uses the driver's own error (the innermost link with a SQLSTATE), whose message is the
    server's text: never the statement's parameters, which SQLAlchemy's message would add.
    """
    for link in _chain(error):
        code = _code_of(link)
        if code is not None:
            name = _NAMES.get(code)
            label = f"SQLSTATE {code}" + (f" {name}" if name else "")
            message = str(link).splitlines()[0] if str(link) else type(link).__name__
            return f"{label}: {message}"
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def store_error(
    error: BaseException,
    *,
    table: str,
    create_hint: str,
    inserting: bool = False,
    transient: tuple[type[BaseException], ...] = (),
) -> StoreError | None:
    """Return the store error that `error` stands for, or None to let `error` propagate.

    The adapter raises the result `from error`, so the driver's error stays its `__cause__`.

    Args:
        error: What the adapter's library raised.
        table: The sessions table's (qualified) name, for the messages.
        create_hint: How to create the table with this adapter, for `TableMissing`.
        inserting: The call was `create`: a unique violation means the id is taken.
        transient: Passed to `classify`.
    """
    if isinstance(error, StoreError):
        return None  # already answered (say by a lower layer of the adapter): keep it
    failure = classify(error, transient=transient)
    if failure is None:
        return None
    sqlstate = find_sqlstate(error)
    cause = describe(error)
    if failure is Failure.TRANSIENT:
        return StoreUnavailable(f"the session database is unavailable: {cause}", sqlstate=sqlstate)
    if failure is Failure.TABLE_MISSING:
        return TableMissing(
            f"the sessions table {table} does not exist ({cause}); create it with {create_hint}",
            sqlstate=sqlstate,
        )
    if failure is Failure.DUPLICATE and inserting:
        return SessionExists("a session with this id is already stored", sqlstate=sqlstate)
    return StoreRejected(
        f"the session database rejected the call on {table}: {cause}", sqlstate=sqlstate
    )
