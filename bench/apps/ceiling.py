"""Scenario A, the ceiling: the same route with no authentication at all.

`with_dependency` adds a FastAPI dependency that only reads the cookie (no check): what
FastAPI's dependency injection alone costs, which every dependency-based check pays.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

app = FastAPI()


@app.get("/me")
async def me() -> dict[str, str]:
    return {"user": "user-0000"}


async def session_cookie(request: Request) -> str:
    """No check at all: the cookie's value, or an empty string."""
    return request.cookies.get("session", "")


with_dependency = FastAPI()


@with_dependency.get("/me")
async def me_with_dependency(cookie: Annotated[str, Depends(session_cookie)]) -> dict[str, str]:
    return {"user": "user-0000"}
