"""The time limit and the failure answers around every call of `TortoiseStore`.

Tortoise wraps the driver's errors in its own (`OperationalError`, `IntegrityError`, ...); the
core's taxonomy finds the SQLSTATE through the wrapper and decides (`fastapi_anchor.failures`).
Configuration mistakes (Tortoise not initialised, an unknown connection name) carry no SQLSTATE
and are not connection errors: they propagate, loudly, never as a 503.
"""

from __future__ import annotations

from types import TracebackType

from tortoise.exceptions import DBConnectionError

from fastapi_anchor.store import StoreError
from fastapi_anchor.toolkit import Deadlines, store_error

__all__ = ["CREATE_TABLE_HINT", "StoreCall"]

CREATE_TABLE_HINT = (
    "`await TortoiseStore.create_table()`, `aerich upgrade` or `tortoise migrate` "
    "(see the anchor-tortoise README)"
)

_TRANSIENT: tuple[type[BaseException], ...] = (DBConnectionError,)


class StoreCall:
    """`with StoreCall(deadline, table):` around one store call.

    The call gets the store's time limit (waiting for a pooled connection included) and its
    failures become the core's store errors, the driver's error kept as `__cause__`. A class
    rather than a generator-based context manager: it runs on every request.
    """

    __slots__ = ("_deadline", "_inserting", "_table")

    def __init__(self, deadline: Deadlines, table: str, *, inserting: bool = False) -> None:
        self._deadline = deadline
        self._table = table
        self._inserting = inserting

    def __enter__(self) -> None:
        self._deadline.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._deadline.__exit__(exc_type, exc, traceback)
        except Exception as late:  # the time limit passed (a TimeoutError): a 503
            error = self._error(late)
            if error is None:
                raise
            raise error from late
        if isinstance(exc, Exception):
            error = self._error(exc)
            if error is not None:
                raise error from exc

    def _error(self, exc: Exception) -> StoreError | None:
        return store_error(
            exc,
            table=self._table,
            create_hint=CREATE_TABLE_HINT,
            inserting=self._inserting,
            transient=_TRANSIENT,
        )
