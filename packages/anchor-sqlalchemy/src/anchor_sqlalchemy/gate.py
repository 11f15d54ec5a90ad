"""`PoolGate`: the store's calls queue in front of SQLAlchemy's pool, where waiting is cheap.

When more requests want a connection than the pool holds, SQLAlchemy's async pool makes each
waiter leave its greenlet and wait in `asyncio.wait_for`, a task and a timer per wait: under
load that costs more CPU than the query. The gate admits at most as many store calls as the
pool can lend at once and parks the others on an `asyncio.Semaphore`, with the pool's own
timeout, kept by one shared timer (`fastapi_anchor.toolkit.Deadlines`). Connections the
application holds elsewhere still count in the pool as usual; the gate only saves the store's
own calls a costly wait.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

__all__ = ["PoolGate"]


class PoolGate:
    """At most `capacity` calls at once; the others wait their turn, in order.

    Args:
        capacity: How many calls may run at once (the pool's size plus its overflow).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def for_engine(cls, engine: Engine) -> PoolGate | None:
        """Return the gate for the engine's pool, or None if the pool sets no bound."""
        pool = engine.pool
        if not isinstance(pool, QueuePool):
            return None
        # QueuePool has no public getter for max_overflow; -1 means no bound.
        overflow = getattr(pool, "_max_overflow", -1)
        if not isinstance(overflow, int) or overflow < 0 or pool.size() + overflow < 1:
            return None
        if not pool.timeout() > 0:
            return None  # no wait allowed: the pool itself refuses at once
        return cls(pool.size() + overflow)

    async def acquire(self) -> None:
        """Wait for a turn (the caller's time limit bounds the wait)."""
        await self._current().acquire()

    def release(self) -> None:
        """End a turn taken by `acquire`."""
        assert self._semaphore is not None  # acquire ran first
        self._semaphore.release()

    def _current(self) -> asyncio.Semaphore:
        # An asyncio.Semaphore belongs to one event loop; a store may outlive a loop (tests).
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore = asyncio.Semaphore(self.capacity)
            self._loop = loop
        return self._semaphore
