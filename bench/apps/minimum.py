"""Scenario B, the hand-written minimum: a signed cookie and one asyncpg primary-key lookup.

No FastAPI Anchor here, only what a careful hand-written check needs: the itsdangerous
signature (the same signer settings as FastAPI Anchor, so the same cookies work), the SHA-256
of the token, one `SELECT` by primary key and the expiry check. The pool drops the reset query
(a no-op `reset`, as every asyncpg pool in the benchmark).

Three apps:
- `inline`: the check written in the route itself, the strict minimum;
- `dependency`: the same check as a FastAPI dependency, as a real app would write it;
- `inline_reset`: `inline` on a pool that keeps asyncpg's default reset query.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Request
from itsdangerous import BadSignature, Signer

from bench.apps import settings
from fastapi_anchor.store import skip_reset

SIGNER = Signer(
    settings.SECRET, salt=settings.SALT, digest_method=hashlib.sha256, key_derivation="hmac"
)
SQL = f'SELECT user_id, expires_at FROM "{settings.TABLE}" WHERE id = $1'


POOLS: list[Any] = []  # the one pool of the app being served (one app per process)


def lifespan_with(reset: Callable[[Any], Awaitable[None]] | None) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        size = settings.POOL_SIZE
        options: dict[str, Any] = {"min_size": size, "max_size": size}
        if reset is not None:
            options["reset"] = reset
        POOLS.append(await asyncpg.create_pool(settings.DSN, **options))
        yield
        await POOLS.pop().close()

    return lifespan


async def user_of(request: Request) -> str | None:
    value = request.cookies.get(settings.COOKIE)
    if not value:
        return None
    try:
        token = SIGNER.unsign(value)
    except BadSignature:
        return None
    session_id = hashlib.sha256(token).hexdigest()
    row = await POOLS[0].fetchrow(SQL, session_id)
    if row is None or row[1] <= datetime.now(timezone.utc):
        return None
    return str(row[0])


def not_authenticated() -> HTTPException:
    return HTTPException(401, detail="Not authenticated")


def inline_app(reset: Callable[[Any], Awaitable[None]] | None) -> FastAPI:
    app = FastAPI(lifespan=lifespan_with(reset))

    @app.get("/me")
    async def me(request: Request) -> dict[str, str]:
        user = await user_of(request)
        if user is None:
            raise not_authenticated()
        return {"user": user}

    return app


async def current_user(request: Request) -> str:
    user = await user_of(request)
    if user is None:
        raise not_authenticated()
    return user


def dependency_app() -> FastAPI:
    app = FastAPI(lifespan=lifespan_with(skip_reset))

    @app.get("/me")
    async def me(user: Annotated[str, Depends(current_user)]) -> dict[str, str]:
        return {"user": user}

    return app


inline = inline_app(skip_reset)
dependency = dependency_app()
inline_reset = inline_app(None)
