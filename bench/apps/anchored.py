"""The app every FastAPI Anchor scenario serves: `GET /me` behind `anchor.session`."""

# No `from __future__ import annotations`: the route's `Depends` refers to a local variable.

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from bench.apps import settings
from fastapi_anchor import Anchor, SessionRecord
from fastapi_anchor.cache import SessionCache
from fastapi_anchor.feed import ChangeFeed
from fastapi_anchor.store import SessionStore

Step = Callable[[], Awaitable[Any]]


def anchored_app(
    store: SessionStore,
    startup: Step | None = None,
    shutdown: Step | None = None,
    *,
    cached: bool = False,
) -> FastAPI:
    """A FastAPI app whose `GET /me` returns the session's user id (401 without a session).

    `cached`: a `SessionCache` kept correct by a `ChangeFeed` on the benchmark's table.
    """
    feed = ChangeFeed(settings.DSN, table=settings.TABLE) if cached else None
    # Room for every session the load rotates over, kept for the whole run: the feed, not the
    # age limit, is what keeps the cache correct, and slices of other apps come in between.
    cache = SessionCache(max_entries=20_000, max_age=timedelta(minutes=30)) if cached else None
    anchor = Anchor(store, secret_keys=settings.SECRET, feed=feed, cache=cache)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await startup() if startup else None
        await feed.start() if feed else None
        yield
        await feed.stop() if feed else None
        await shutdown() if shutdown else None

    app = FastAPI(lifespan=lifespan)

    @app.get("/me")
    async def me(session: Annotated[SessionRecord, Depends(anchor.session)]) -> dict[str, str]:
        return {"user": session.user_id}

    return app
