"""anchor-piccolo: `PiccoloStore` on a Piccolo engine whose pool skips the reset query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore, skip_reset
from bench.apps import settings
from bench.apps.anchored import anchored_app

DB = PostgresEngine(config={"dsn": settings.DSN})
store = PiccoloStore(DB, table=settings.TABLE)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = settings.POOL_SIZE
    await DB.start_connection_pool(min_size=size, max_size=size, reset=skip_reset)
    yield
    await DB.close_connection_pool()


app = anchored_app(store, lifespan)
