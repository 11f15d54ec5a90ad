"""`SuiteBase`: what every rule group shares: the fixtures to override, capability flags, hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import anyio
import pytest

from fastapi_anchor.store import SessionRecord, SessionStore

__all__ = ["Outcome", "StoreT", "SuiteBase", "gather"]

StoreT = TypeVar("StoreT", bound=SessionStore)

Outcome = Any
"""What a call returned, or the exception it raised."""


async def gather(calls: Sequence[Callable[[], Awaitable[Any]]]) -> list[Outcome]:
    """Run the calls concurrently in one task group; return each result or exception, in order."""
    outcomes: list[Outcome] = [None] * len(calls)

    async def run(index: int, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            outcomes[index] = await call()
        except Exception as exc:  # reported to the caller, which checks it
            outcomes[index] = exc

    async with anyio.create_task_group() as group:
        for index, call in enumerate(calls):
            group.start_soon(run, index, call)
    return outcomes


_SKIP_REASONS = {
    "supports_large_data": "the store declares a data size bound below 100 KiB",
    "can_be_unavailable": "the store depends on no service that can be down",
    "can_miss_table": "the store has no table that can be missing",
}


class SuiteBase(Generic[StoreT]):
    """Fixtures, flags and hooks shared by the rule groups of `SessionStoreSuite`."""

    supports_large_data: ClassVar[bool] = True
    """The store holds 100 KiB of data in one session.

    Set False only for a store with a documented smaller bound (a cookie or memcached store); the
    core itself sets none. The large-data round trip is then skipped.
    """

    can_be_unavailable: ClassVar[bool] = False
    """The store depends on a service that can be down (a database; not `MemoryStore`).

    Set True and override `unavailable_store`: every method must then raise `StoreUnavailable`
    when the service does not answer, which the core turns into 503.
    """

    can_miss_table: ClassVar[bool] = False
    """The store keeps sessions in a table that may not have been created (or migrated) yet.

    Set True and override `store_without_table`: every method must then raise `TableMissing`
    (a `StoreUnavailable` whose message says how to create the table).
    """

    concurrency: ClassVar[int] = 20
    """How many calls the concurrency rules run at once; more than your pool size is good."""

    @pytest.fixture
    async def store(self) -> StoreT:
        """Override: yield a fresh, EMPTY store for each test, and clean it up afterwards."""
        raise NotImplementedError("a SessionStoreSuite subclass must override the store fixture")

    @pytest.fixture
    async def unavailable_store(self) -> StoreT:
        """Override with `can_be_unavailable = True`: yield a store whose service is down.

        For example the store pointed at a closed port on 127.0.0.1.
        """
        self._require("can_be_unavailable")
        raise NotImplementedError(
            "can_be_unavailable = True needs an unavailable_store fixture override"
        )

    @pytest.fixture
    async def store_without_table(self) -> StoreT:
        """Override with `can_miss_table = True`: yield a store whose table does not exist."""
        self._require("can_miss_table")
        raise NotImplementedError("can_miss_table = True needs a store_without_table override")

    async def read_stored(self, store: StoreT, session_id: str) -> SessionRecord | None:
        """Hook: return the record as really stored, bypassing `store` if you can.

        The default reads through `store.get`. A database store may override it to SELECT the
        row on its own connection, so that the suite sees what reached the table, not what a
        cache inside the store remembers.
        """
        return await store.get(session_id)

    def _require(self, flag: str) -> None:
        """Skip the running test unless the capability `flag` is set on this class."""
        if not getattr(self, flag):
            pytest.skip(f"{type(self).__name__}.{flag} is False: {_SKIP_REASONS[flag]}")
