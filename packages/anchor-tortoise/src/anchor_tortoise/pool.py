"""Connection pool settings that save a round trip per request."""

from __future__ import annotations

from typing import Any

__all__ = ["skip_reset"]


async def skip_reset(connection: Any) -> None:
    """A no-op for asyncpg's pool `reset`: release connections without a reset query.

    asyncpg's pool sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`
    whenever a connection goes back to the pool: a second round trip after every session
    lookup. Put this in the Tortoise connection's credentials, `"reset": skip_reset`, when your
    application leaves no session state on its connections (no `SET`, `LISTEN`, advisory
    locks or cursors outside a transaction). Open transactions are still rolled back.
    """
