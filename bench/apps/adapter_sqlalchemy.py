"""anchor-sqlalchemy: `SQLAlchemyStore` on an `AsyncEngine` (asyncpg driver)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from bench.apps import settings
from bench.apps.anchored import anchored_app

# SQLAlchemy's pool opens asyncpg connections itself (no asyncpg pool, so no reset query).
engine = create_async_engine(
    settings.sqlalchemy_url(), pool_size=settings.POOL_SIZE, max_overflow=0
)
store = SQLAlchemyStore(engine, sessions_table(MetaData(), settings.TABLE))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = anchored_app(store, lifespan)
