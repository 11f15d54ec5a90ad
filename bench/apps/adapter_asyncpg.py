"""anchor-asyncpg: `AsyncpgStore` owning its pool (which skips the reset query by default);
`cached` adds the session cache and its change feed."""

from __future__ import annotations

from anchor_asyncpg import AsyncpgStore
from bench.apps import settings
from bench.apps.anchored import anchored_app

store = AsyncpgStore(settings.DSN, table=settings.TABLE, pool_options=settings.POOL)
app = anchored_app(store, store.open, store.close)
cached = anchored_app(store, store.open, store.close, cached=True)
