"""The pool `AsyncpgStore` creates when given a DSN, and the no-op `reset` it uses."""

# asyncpg ships no type information; asyncpg-stubs adds it where installed.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

__all__ = ["owned_pool", "skip_reset"]


async def skip_reset(connection: asyncpg.Connection[Any]) -> None:
    """Use as `asyncpg.create_pool(..., reset=skip_reset)`: release a connection with no query.

    By default an asyncpg pool sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL;` every time a connection goes back to the pool: a second round trip on every
    request. An application that never changes session state on pooled connections (no `SET`,
    `LISTEN`, advisory locks, temporary tables or cursors held past a release) has nothing for
    it to reset. asyncpg (0.30+) still rolls back a transaction left open and drops listeners
    before calling this function.
    """


def owned_pool(
    dsn: str, options: Mapping[str, Any], connect_timeout: float | None
) -> asyncpg.Pool[Any]:
    """Return a not yet initialised pool for `dsn`; `options` override the store's defaults.

    The store's own statements leave nothing on a connection, so the pool skips the reset query.
    """
    settings: dict[str, Any] = {"reset": skip_reset}
    if connect_timeout is not None:
        settings["timeout"] = connect_timeout
    settings.update(options)
    return asyncpg.create_pool(dsn, **settings)
