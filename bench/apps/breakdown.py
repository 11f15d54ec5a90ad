"""Steps between the hand-written minimum (B) and `Anchor` + `AsyncpgStore`, for `inprocess`.

- `raw_store`: `Anchor` on the cheapest store possible, `pool.fetchrow` of the four columns
  and a `SessionRecord`: the cost of Anchor's own checks and of FastAPI's dependency.
- `no_deadline`: `Anchor` + `AsyncpgStore(timeout=None)`: the adapter minus its per-call
  deadline (a `Deadlines` block; see `fastapi_anchor.deadlines`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI

from anchor_asyncpg import AsyncpgStore
from bench.apps import settings
from bench.apps.anchored import anchored_app
from fastapi_anchor.store import SessionRecord, load_data, skip_reset

COLUMNS = "user_id, data::text, created_at, expires_at"
SQL = f'SELECT {COLUMNS} FROM "{settings.TABLE}" WHERE id = $1'


class RawStore:
    """Only `get`, the one call of an authenticated request; no timeout, no error handling."""

    pool: Any = None

    async def get(self, session_id: str) -> SessionRecord | None:
        row = await self.pool.fetchrow(SQL, session_id)
        if row is None:
            return None
        return SessionRecord(session_id, row[0], row[2], row[3], load_data(row[1]))


raw = RawStore()


@asynccontextmanager
async def raw_lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = settings.POOL_SIZE
    raw.pool = await asyncpg.create_pool(
        settings.DSN, min_size=size, max_size=size, reset=skip_reset
    )
    yield
    await raw.pool.close()


raw_store = anchored_app(raw, raw_lifespan)  # type: ignore[arg-type]

size = settings.POOL_SIZE
unbounded = AsyncpgStore(
    settings.DSN,
    table=settings.TABLE,
    timeout=None,
    pool_options={"min_size": size, "max_size": size},
)


@asynccontextmanager
async def unbounded_lifespan(app: FastAPI) -> AsyncIterator[None]:
    await unbounded.open()
    yield
    await unbounded.close()


no_deadline = anchored_app(unbounded, unbounded_lifespan)
