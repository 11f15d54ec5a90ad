"""anchor-sqlalchemy: `SQLAlchemyStore` on an `AsyncEngine` (asyncpg driver, no reset query);
`cached` adds the session cache and its change feed."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from bench.apps import settings
from bench.apps.anchored import anchored_app

url = "postgresql+asyncpg://" + settings.DSN.split("://", 1)[1]
engine = create_async_engine(url, pool_size=settings.POOL_SIZE, max_overflow=0)
store = SQLAlchemyStore(engine, sessions_table(MetaData(), settings.TABLE))
app = anchored_app(store, shutdown=engine.dispose)
cached = anchored_app(store, shutdown=engine.dispose, cached=True)
