"""The pool `AsyncpgStore` creates when given a DSN (with the core's no-op `skip_reset`)."""

# asyncpg ships no type information; asyncpg-stubs adds it where installed.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from fastapi_anchor.toolkit import skip_reset

__all__ = ["owned_pool"]


def owned_pool(dsn: str, options: Mapping[str, Any], connect_timeout: float) -> asyncpg.Pool[Any]:
    """Return a not yet initialised pool for `dsn`; `options` override the store's defaults.

    The store's own statements leave nothing on a connection, so the pool skips the reset query.
    """
    settings: dict[str, Any] = {"reset": skip_reset, "timeout": connect_timeout, **options}
    return asyncpg.create_pool(dsn, **settings)
