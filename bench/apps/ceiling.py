"""A, the ceiling: no authentication; A-dep: a dependency that only reads the cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

app = FastAPI()
dependency = FastAPI()


@app.get("/me")
async def me() -> dict[str, str]:
    return {"user": "user-0000"}


async def session_cookie(request: Request) -> str:
    return request.cookies.get("session", "")


@dependency.get("/me")
async def me_dependency(cookie: Annotated[str, Depends(session_cookie)]) -> dict[str, str]:
    return {"user": "user-0000"}
