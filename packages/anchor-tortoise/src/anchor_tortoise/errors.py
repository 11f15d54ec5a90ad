"""How Tortoise and driver errors become the store errors of FastAPI Anchor.

A unique violation becomes `SessionExists`; a missing table `TableMissing`, whose message says
how to create it; anything else that says the database cannot serve the call now (connection
refused or lost, server shutting down, timeouts, a failed statement) becomes `StoreUnavailable`.
The original error is kept as `__cause__`. Configuration mistakes (Tortoise not initialised, an
unknown connection name) are not caught: they must fail loudly, not as a 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg  # type: ignore[import-untyped]
from tortoise.exceptions import (
    DBConnectionError,
    IntegrityError,
    OperationalError,
    TransactionManagementError,
)

from fastapi_anchor.store import SessionExists, StoreUnavailable, TableMissing

__all__ = ["UNDEFINED_TABLE", "UNIQUE_VIOLATION", "has_sqlstate", "store_errors"]

UNIQUE_VIOLATION = "23505"
"""SQLSTATE of a unique violation; asyncpg and psycopg both expose it as `sqlstate`."""

UNDEFINED_TABLE = "42P01"
"""SQLSTATE of a statement on a table that does not exist."""

CREATE_TABLE_HINT = (
    "create it with Tortoise.generate_schemas(), `aerich upgrade` or `tortoise migrate` "
    "(see the anchor-tortoise README)"
)

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    DBConnectionError,
    TransactionManagementError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    asyncio.TimeoutError,
    TimeoutError,
)


def has_sqlstate(exc: BaseException, sqlstate: str) -> bool:
    """Return whether `exc`, or a driver error it was raised from, has this SQLSTATE.

    Decided by the code the server sent, never by matching message text.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == sqlstate:
            return True
        current = current.__cause__
    return False


@contextmanager
def store_errors(table: str = "", *, duplicate_id: bool = False) -> Iterator[None]:
    """Translate database errors raised inside the block into store errors.

    Args:
        table: The sessions table's name, for the message of `TableMissing`.
        duplicate_id: The block inserts a session: a unique violation means the id is taken and
            becomes `SessionExists`.

    Raises:
        SessionExists: `duplicate_id` is set and the insert hit the primary key.
        TableMissing: The sessions table does not exist.
        StoreUnavailable: The database could not serve the call.
    """
    try:
        yield
    except IntegrityError as exc:
        if duplicate_id and has_sqlstate(exc, UNIQUE_VIOLATION):
            raise SessionExists("session id is already stored") from exc
        raise StoreUnavailable(f"session store refused the statement: {exc}") from exc
    except _UNAVAILABLE as exc:
        if has_sqlstate(exc, UNDEFINED_TABLE):
            name = f"{table!r} " if table else ""
            raise TableMissing(
                f"the sessions table {name}does not exist: {CREATE_TABLE_HINT}"
            ) from exc
        raise StoreUnavailable(f"session store unavailable ({type(exc).__name__}: {exc})") from exc
