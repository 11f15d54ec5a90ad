"""Pool settings for a Piccolo engine that serves sessions."""

from __future__ import annotations

from typing import Any

__all__ = ["skip_reset"]


async def skip_reset(connection: Any) -> None:
    """A no-op pool reset: `await engine.start_connection_pool(reset=skip_reset)`.

    asyncpg resets every connection it takes back into the pool with a query of its own (it
    releases advisory locks, closes cursors, stops LISTEN and runs RESET ALL): a second round
    trip for each session read. Skip it when the application changes no session state on
    pooled connections (no SET, LISTEN or advisory locks). An open transaction is still
    rolled back by asyncpg itself.
    """
