"""The failure taxonomy: SQLSTATE -> store error, found through the wrappers ORMs add."""

from __future__ import annotations

import asyncpg
import pytest

from fastapi_anchor.store import (
    SessionExists,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.toolkit import (
    Failure,
    classify,
    classify_sqlstate,
    connection_lost,
    describe,
    find_sqlstate,
    store_error,
)

TRANSIENT = [
    "08000", "08003", "08006", "40001", "40P01", "53000", "53300", "55P03", "57014",
    "57P01", "57P02", "57P03", "25006", "58030",
]  # fmt: skip
MISTAKES = [
    "42501", "42703", "42601", "22001", "22P02", "23514", "23502", "0A000", "XX000",
    "28P01", "3D000", "40002", "55000",
]  # fmt: skip


@pytest.mark.parametrize("sqlstate", TRANSIENT)
def test_transient_conditions_are_unavailable(sqlstate: str) -> None:
    assert classify_sqlstate(sqlstate) is Failure.TRANSIENT


@pytest.mark.parametrize("sqlstate", MISTAKES)
def test_mistakes_are_rejected(sqlstate: str) -> None:
    assert classify_sqlstate(sqlstate) is Failure.MISTAKE


@pytest.mark.parametrize("sqlstate", ["42P01", "3F000"])
def test_a_missing_table_or_schema_is_table_missing(sqlstate: str) -> None:
    assert classify_sqlstate(sqlstate) is Failure.TABLE_MISSING


class DriverError(Exception):
    def __init__(self, sqlstate: str, message: str = "the server's message") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class OrmError(Exception):
    """An ORM's wrapper: the driver's error as `__cause__`, or as `.orig` like SQLAlchemy."""

    def __init__(self, message: str, orig: BaseException | None = None) -> None:
        super().__init__(message)
        self.orig = orig


def wrapped_by_cause(inner: BaseException) -> BaseException:
    try:
        raise OrmError("wrapped") from inner
    except OrmError as exc:
        return exc


def test_the_sqlstate_is_found_through_cause_orig_and_context() -> None:
    inner = DriverError("40P01")
    assert find_sqlstate(wrapped_by_cause(inner)) == "40P01"
    assert find_sqlstate(OrmError("[SQL: ...] [parameters: ...]", orig=inner)) == "40P01"
    # `from None` hides the context from tracebacks but keeps it: it is still the cause.
    hidden = OrmError("while handling")
    hidden.__context__ = inner
    hidden.__suppress_context__ = True
    assert find_sqlstate(hidden) == "40P01"
    assert find_sqlstate(RuntimeError("no code")) is None


def test_a_real_asyncpg_error_carries_its_sqlstate() -> None:
    error = asyncpg.DeadlockDetectedError("deadlock detected")
    assert find_sqlstate(error) == "40P01"
    assert classify(error) is Failure.TRANSIENT


def test_errors_without_a_sqlstate() -> None:
    assert classify(ConnectionRefusedError()) is Failure.TRANSIENT
    assert classify(TimeoutError()) is Failure.TRANSIENT
    assert classify(TimeoutError()) is Failure.TRANSIENT
    assert classify(asyncpg.InterfaceError("pool is closed")) is Failure.TRANSIENT
    assert classify(wrapped_by_cause(OSError("reset"))) is Failure.TRANSIENT
    # A bad argument is the caller's bug, never "try again": it propagates unchanged.
    assert classify(ValueError("bad")) is None
    assert classify(asyncpg.exceptions._base.DataError("invalid input for query argument")) is None
    assert classify(RuntimeError("not the database")) is None

    class PoolTimeout(Exception):
        pass

    assert classify(PoolTimeout()) is None
    assert classify(PoolTimeout(), transient=(PoolTimeout,)) is Failure.TRANSIENT


def test_connection_lost() -> None:
    assert connection_lost(DriverError("08006"))
    assert connection_lost(wrapped_by_cause(DriverError("57P01")))
    assert connection_lost(ConnectionResetError())
    assert connection_lost(asyncpg.InterfaceError("connection is closed"))
    assert not connection_lost(TimeoutError())  # a slow statement kills no connection
    assert not connection_lost(DriverError("57014"))
    assert not connection_lost(DriverError("40P01"))
    assert not connection_lost(ValueError())


def test_describe_names_the_code_and_the_servers_message_only() -> None:
    inner = DriverError("42501", "permission denied for table anchor_sessions")
    outer = OrmError("(asyncpg) ... [SQL: INSERT ...] [parameters: ('secret data',)]", orig=inner)
    text = describe(outer)
    assert text == (
        "SQLSTATE 42501 insufficient_privilege: permission denied for table anchor_sessions"
    )
    assert "secret data" not in text
    assert describe(DriverError("99999", "odd")) == "SQLSTATE 99999: odd"
    assert describe(ConnectionRefusedError("refused")) == "ConnectionRefusedError: refused"


def make(error: BaseException, *, inserting: bool = False) -> object:
    return store_error(error, table='"anchor_sessions"', create_hint="X()", inserting=inserting)


def test_store_error_builds_the_right_error_with_its_sqlstate() -> None:
    unavailable = make(DriverError("40001"))
    assert type(unavailable) is StoreUnavailable
    assert unavailable.sqlstate == "40001"

    missing = make(DriverError("42P01", 'relation "anchor_sessions" does not exist'))
    assert type(missing) is TableMissing
    assert "create it with X()" in str(missing)

    assert type(make(DriverError("23505"), inserting=True)) is SessionExists
    assert type(make(DriverError("23505"))) is StoreRejected  # a unique violation elsewhere

    rejected = make(DriverError("42703", 'column "x" does not exist'))
    assert type(rejected) is StoreRejected
    assert str(rejected) == (
        'the session database rejected the call on "anchor_sessions": '
        'SQLSTATE 42703 undefined_column: column "x" does not exist'
    )
    assert make(RuntimeError("not ours")) is None
    assert make(StoreUnavailable("answered already", sqlstate="57014")) is None  # kept as is
