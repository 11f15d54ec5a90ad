"""anchor-asyncpg: `AsyncpgStore` owning its pool (which drops the reset query by default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from anchor_asyncpg import AsyncpgStore
from bench.apps import settings
from bench.apps.anchored import anchored_app

size = settings.POOL_SIZE
store = AsyncpgStore(
    settings.DSN, table=settings.TABLE, pool_options={"min_size": size, "max_size": size}
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await store.open()
    yield
    await store.close()


app = anchored_app(store, lifespan)
