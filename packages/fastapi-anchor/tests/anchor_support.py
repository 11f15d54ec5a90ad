"""Helpers for the core's tests: a movable clock, a counting MemoryStore, a test app."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi_anchor import MemoryStore, SessionRecord

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

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        self.calls["delete_user"] += 1
        return await super().delete_user(user_id, keep=keep)

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        self.calls["list_user"] += 1
        return await super().list_user(user_id)
