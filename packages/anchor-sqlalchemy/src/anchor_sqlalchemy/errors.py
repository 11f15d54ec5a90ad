"""How SQLAlchemy's and the driver's errors become store errors: the core's taxonomy, plus SQLite.

PostgreSQL errors carry a SQLSTATE, found through SQLAlchemy's wrapper (`DBAPIError.orig`), and
`fastapi_anchor.failures` decides what they mean. SQLite (development) sends no SQLSTATE: its
unique violation is told by sqlite3's extended result code, and its missing table is checked by
the store itself (see `SQLAlchemyStore`).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

from fastapi_anchor.store import (
    SessionExists,
    StoreError,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.toolkit import (
    Failure,
    classify_sqlstate,
    connection_lost,
    describe,
    find_sqlstate,
)
from fastapi_anchor.toolkit import (
    store_error as classify_error,
)

__all__ = ["CREATE_HINT", "busy_server", "store_error", "table_missing", "unavailable"]

CREATE_HINT = (
    "an Alembic migration (alembic revision --autogenerate, with the table on "
    "target_metadata), metadata.create_all, or await store.create_table()"
)

# Errors without a SQLSTATE that mean "cannot answer now": the pool's time-out, a lost
# connection, and SQLite's operational errors (a locked database file).
_TRANSIENT: tuple[type[BaseException], ...] = (
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
)
# sqlite3's extended result codes; the constants are in the sqlite3 module from Python 3.11.
_SQLITE_CONSTRAINT_PRIMARYKEY = 1555
_SQLITE_CONSTRAINT_UNIQUE = 2067


def _sqlite_unique_violation(error: BaseException) -> bool:
    if not isinstance(error, sa_exc.IntegrityError):
        return False
    orig = error.orig
    if not isinstance(orig, sqlite3.IntegrityError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    return code in (_SQLITE_CONSTRAINT_PRIMARYKEY, _SQLITE_CONSTRAINT_UNIQUE)


def busy_server(error: BaseException) -> bool:
    """Whether a driver error is the server refusing for now on a connection that still works.

    A transient SQLSTATE (statement or lock time-out, shutdown, out of resources, deadlock)
    that did not end the connection: repeating the statement would only wait again.
    """
    sqlstate = find_sqlstate(error)
    if sqlstate is None or classify_sqlstate(sqlstate) is not Failure.TRANSIENT:
        return False
    return not connection_lost(error)


def unavailable(error: BaseException) -> StoreUnavailable:
    """The `StoreUnavailable` to raise `from error` when the database cannot answer now."""
    return StoreUnavailable(
        f"the session database is unavailable: {describe(error)}", sqlstate=find_sqlstate(error)
    )


def table_missing(table: str) -> TableMissing:
    """Return the `TableMissing` error for `table`, saying how to create it."""
    return TableMissing(
        f"the sessions table {table!r} does not exist: create it with {CREATE_HINT}"
    )


def store_error(error: BaseException, table: str, *, inserting: bool = False) -> StoreError | None:
    """Return the store error that `error` stands for, or None to let it propagate as is.

    The caller raises the result `from error`, so the driver's error stays the `__cause__`.

    Args:
        error: What SQLAlchemy or the driver raised.
        table: The (qualified) name of the sessions table, for the messages.
        inserting: The call was `create`: a unique violation means the id is taken.
    """
    if inserting and _sqlite_unique_violation(error):
        return SessionExists("a session with this id is already stored")
    if isinstance(error, sa_exc.IntegrityError) and find_sqlstate(error) is None:
        # SQLite's constraint violations carry no SQLSTATE; they are mistakes all the same.
        cause = describe(error.orig or error)
        return StoreRejected(f"the session database rejected the call on {table!r}: {cause}")
    invalidated = isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
    if invalidated and find_sqlstate(error) is None:
        return unavailable(error)
    return classify_error(
        error, table=repr(table), create_hint=CREATE_HINT, inserting=inserting, transient=_TRANSIENT
    )
