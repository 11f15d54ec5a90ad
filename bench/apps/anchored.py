"""The app every `Anchor` scenario serves: `GET /me` behind `anchor.session`, as the docs show."""

# No `from __future__ import annotations`: FastAPI must see the `Depends` in the route's
# signature, which refers to a local variable.

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated

from fastapi import Depends, FastAPI

from bench.apps import settings
from fastapi_anchor import Anchor, SessionRecord
from fastapi_anchor.store import SessionStore

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def anchored_app(store: SessionStore, lifespan: Lifespan | None = None) -> FastAPI:
    """A FastAPI app whose `GET /me` returns the session's user id (401 without a session)."""
    anchor = Anchor(store, secret_keys=settings.SECRET)
    app = FastAPI(lifespan=lifespan)

    @app.get("/me")
    async def me(
        session: Annotated[SessionRecord, Depends(anchor.session)],
    ) -> dict[str, str]:
        return {"user": session.user_id}

    return app
