"""Helpers for the core's tests: a movable clock, a counting MemoryStore, a test app."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import Depends, FastAPI, Response

from fastapi_anchor import Anchor, MemoryStore, SessionRecord

SECRET = "test-secret-0123456789-abcdefghijklmnop"
T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


class MovableClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class CountingStore(MemoryStore):
    """A real MemoryStore that counts calls per method."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: Counter[str] = Counter()

    async def create(self, record: SessionRecord) -> None:
        self.calls["create"] += 1
        await super().create(record)

    async def get(self, session_id: str) -> SessionRecord | None:
        self.calls["get"] += 1
        return await super().get(session_id)

    async def update(self, session_id: str, **kwargs: Any) -> bool:
        self.calls["update"] += 1
        return await super().update(session_id, **kwargs)

    async def delete(self, session_id: str) -> bool:
        self.calls["delete"] += 1
        return await super().delete(session_id)

    async def delete_user(self, user_id: str) -> int:
        self.calls["delete_user"] += 1
        return await super().delete_user(user_id)

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        self.calls["list_user"] += 1
        return await super().list_user(user_id)


def build_app(anchor: Anchor) -> FastAPI:
    app = FastAPI()

    @app.post("/login")
    async def login(user: str, response: Response) -> dict[str, str]:
        record = await anchor.login(response, user, {"role": "reader"})
        return {"user": record.user_id}

    @app.get("/me")
    async def me(session: SessionRecord = Depends(anchor.session)) -> dict[str, Any]:
        return {"user": session.user_id, "data": dict(session.data)}

    @app.get("/maybe")
    async def maybe(
        session: SessionRecord | None = Depends(anchor.optional_session),
    ) -> dict[str, str | None]:
        return {"user": session.user_id if session else None}

    @app.post("/logout")
    async def logout(
        response: Response, session: SessionRecord | None = Depends(anchor.optional_session)
    ) -> dict[str, bool]:
        await anchor.logout(response, session)
        return {"ok": True}

    @app.post("/logout-all")
    async def logout_all(session: SessionRecord = Depends(anchor.session)) -> dict[str, int]:
        return {"ended": await anchor.logout_all(session.user_id)}

    @app.get("/sessions")
    async def sessions(session: SessionRecord = Depends(anchor.session)) -> list[str]:
        return [r.id for r in await anchor.sessions(session.user_id)]

    @app.post("/unchecked")
    async def unchecked(
        session: SessionRecord = Depends(anchor.dependency(check_origin=False)),
    ) -> dict[str, str]:
        return {"user": session.user_id}

    return app
