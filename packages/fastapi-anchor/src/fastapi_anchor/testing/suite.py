"""`SessionStoreSuite`: the contract tests, one per rule (skeleton; issue 4 completes it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fastapi_anchor.store import SessionExists, SessionRecord, SessionStore
from fastapi_anchor.tokens import hash_token, new_token

__all__ = ["SessionStoreSuite"]

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def make_record(user_id: str = "alice", **changes: Any) -> SessionRecord:
    """A valid record with a fresh id; keyword arguments override fields."""
    fields: dict[str, Any] = {
        "id": hash_token(new_token()),
        "user_id": user_id,
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "data": {},
    }
    fields.update(changes)
    return SessionRecord(**fields)


@pytest.mark.anyio
class SessionStoreSuite:
    """Subclass as `Test<YourStore>` and provide an async `store` fixture (fresh, empty)."""

    @pytest.fixture
    async def store(self) -> AsyncIterator[SessionStore]:
        """Override: yield a fresh, empty store for each test."""
        raise NotImplementedError("subclasses of SessionStoreSuite must define a store fixture")
        yield  # pragma: no cover

    async def test_create_then_get_round_trips_every_field(self, store: SessionStore) -> None:
        """A created record reads back equal, field by field."""
        record = make_record(data={"name": "Zoë 🚀", "n": 1, "x": 1.5, "ok": True, "none": None})
        await store.create(record)
        assert await store.get(record.id) == record

    async def test_duplicate_id_raises_session_exists(self, store: SessionStore) -> None:
        """create with a stored id raises SessionExists and keeps the first record."""
        first = make_record("alice")
        await store.create(first)
        with pytest.raises(SessionExists):
            await store.create(make_record("mallory", id=first.id))
        assert await store.get(first.id) == first

    async def test_update_after_delete_does_not_resurrect(self, store: SessionStore) -> None:
        """update of a deleted id returns False and leaves nothing behind."""
        record = make_record()
        await store.create(record)
        assert await store.delete(record.id) is True
        assert await store.update(record.id, expires_at=T0 + timedelta(days=1)) is False
        assert await store.get(record.id) is None
