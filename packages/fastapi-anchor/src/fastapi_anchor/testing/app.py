"""`session_app`: a small FastAPI app with every session route, to test a store over HTTP.

The conformance suite checks a store call by call; this app checks it the way an application
uses it, through `Anchor`: log in, read the session, log out, replay the old cookie. Drive it
with `https_client` (an `https://` base URL, so the `Secure` cookie flows).
"""

# No `from __future__ import annotations`: FastAPI must see the `Depends` of the routes'
# annotations, which name local variables.

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request, Response

from fastapi_anchor.anchor import Anchor
from fastapi_anchor.store import SessionRecord

__all__ = ["https_client", "session_app"]


def session_app(
    anchor: Anchor,
    *,
    login_data: Mapping[str, Any] | None = None,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """Return a FastAPI app whose routes exercise every part of `anchor`.

    Routes:

    - `POST /login?user=alice`: logs `user` in with `login_data` (default `{"role": "reader"}`),
      recording the client's address and user agent; answers `{"user": ..., "session_id": ...}`
      (the stored id, a hash, never the token).
    - `GET /me`: `{"user": ..., "data": {...}}`, or 401 without a live session.
    - `GET /maybe`: `{"user": ...}`, `null` for an anonymous visitor.
    - `POST /logout`: ends the current session (if any) and clears the cookie.
    - `POST /logout-all`: ends every session of the current user; `{"ended": n}`.
    - `GET /sessions`, `DELETE /sessions/{handle}`, `POST /sessions/logout-others`: the
      current user's devices (`anchor.sessions_router()`).
    - `POST /unchecked`: like `/me`, without the cross-site origin check.

    Args:
        anchor: The `Anchor` under test, on the store under test.
        login_data: The session data `/login` stores.
        lifespan: The app's lifespan, for a store whose connections open there (say
            Tortoise's `RegisterTortoise`).
    """
    data = {"role": "reader"} if login_data is None else dict(login_data)
    app = FastAPI(lifespan=lifespan)
    current = Annotated[SessionRecord, Depends(anchor.session)]
    maybe_current = Annotated[SessionRecord | None, Depends(anchor.optional_session)]

    @app.post("/login")
    async def login(request: Request, response: Response, user: str = "alice") -> dict[str, str]:
        record = await anchor.login(response, user, data, request=request)
        return {"user": record.user_id, "session_id": record.id}

    @app.get("/me")
    async def me(session: current) -> dict[str, Any]:
        return {"user": session.user_id, "data": dict(session.data)}

    @app.get("/maybe")
    async def maybe(session: maybe_current) -> dict[str, str | None]:
        return {"user": session.user_id if session else None}

    @app.post("/logout")
    async def logout(response: Response, session: maybe_current) -> dict[str, bool]:
        await anchor.logout(response, session)
        return {"ok": True}

    @app.post("/logout-all")
    async def logout_all(session: current) -> dict[str, int]:
        return {"ended": await anchor.logout_all(session.user_id)}

    @app.post("/unchecked")
    async def unchecked(
        session: Annotated[SessionRecord, Depends(anchor.dependency(check_origin=False))],
    ) -> dict[str, str]:
        return {"user": session.user_id}

    app.include_router(anchor.sessions_router())
    return app


def https_client(app: FastAPI) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` calling `app` in process at `https://testserver`.

    Use it as `async with https_client(app) as client:`; it keeps cookies between requests.
    """
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")
