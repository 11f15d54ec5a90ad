"""The revocation-latency app: anchor-asyncpg with the session cache and its change feed,
plus the login and logout routes the measurement drives."""

# No `from __future__ import annotations`: the routes' `Depends` refer to a local variable.

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Response

from anchor_asyncpg import AsyncpgStore
from bench.apps import settings
from fastapi_anchor import Anchor, SessionRecord
from fastapi_anchor.cache import SessionCache
from fastapi_anchor.feed import ChangeFeed

store = AsyncpgStore(settings.DSN, table=settings.TABLE, pool_options=settings.POOL)
feed = ChangeFeed(settings.DSN, table=settings.TABLE)
anchor = Anchor(store, secret_keys=settings.SECRET, feed=feed, cache=SessionCache())
Session = Annotated[SessionRecord, Depends(anchor.session)]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    async with store, feed:
        await store.create_table()
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/me")
async def me(session: Session) -> dict[str, str]:
    return {"user": session.user_id}


@app.post("/login")
async def login(response: Response) -> dict[str, bool]:
    await anchor.login(response, "revocation")
    return {"ok": True}


@app.post("/logout")
async def logout(response: Response, session: Session) -> dict[str, bool]:
    await anchor.logout(response, session)
    return {"ok": True}
