"""B, the hand-written minimum: a signed cookie and one asyncpg primary-key lookup.

The itsdangerous signature (FastAPI Anchor's signer settings), SHA-256, one `SELECT` by primary
key, the expiry check: `inline` (B), `dependency` (B-dep), `inline_reset` (B-reset: `inline` on
a pool with asyncpg's default reset query; every other pool uses the no-op `skip_reset`).
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Request
from itsdangerous import BadSignature, Signer

from bench.apps import settings
from fastapi_anchor.toolkit import skip_reset

SIGNER = Signer(settings.SECRET, settings.SALT, digest_method=hashlib.sha256, key_derivation="hmac")
SQL = f'SELECT user_id, expires_at FROM "{settings.TABLE}" WHERE id = $1'
POOLS: list[asyncpg.Pool] = []  # the pool of the one app served by this process
Reset = Callable[[Any], Awaitable[None]]


def pool_lifespan(reset: Reset | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        options: dict[str, Any] = {"reset": reset} if reset else {}
        POOLS.append(await asyncpg.create_pool(settings.DSN, **settings.POOL, **options))
        yield
        await POOLS.pop().close()

    return lifespan


async def current_user(request: Request) -> str:
    """The session's user id; 401 without a valid, unexpired session."""
    try:
        token = SIGNER.unsign(request.cookies.get("session", ""))
    except BadSignature:
        raise HTTPException(401, detail="Not authenticated") from None
    row = await POOLS[0].fetchrow(SQL, hashlib.sha256(token).hexdigest())
    if row is None or row[1] <= datetime.now(timezone.utc):
        raise HTTPException(401, detail="Not authenticated")
    return str(row[0])


def inline_app(reset: Reset | None) -> FastAPI:
    app = FastAPI(lifespan=pool_lifespan(reset))

    @app.get("/me")
    async def me(request: Request) -> dict[str, str]:
        return {"user": await current_user(request)}

    return app


inline = inline_app(skip_reset)
inline_reset = inline_app(None)
dependency = FastAPI(lifespan=pool_lifespan(skip_reset))


@dependency.get("/me")
async def me(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
    return {"user": user}
