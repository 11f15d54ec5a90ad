"""anchor-piccolo: `PiccoloStore` on a Piccolo engine whose pool skips the reset query."""

from __future__ import annotations

from functools import partial

from piccolo.engine.postgres import PostgresEngine

from anchor_piccolo import PiccoloStore, skip_reset
from bench.apps import settings
from bench.apps.anchored import anchored_app

DB = PostgresEngine(config={"dsn": settings.DSN})
start = partial(DB.start_connection_pool, **settings.POOL, reset=skip_reset)
app = anchored_app(PiccoloStore(DB, table=settings.TABLE), start, DB.close_connection_pool)
