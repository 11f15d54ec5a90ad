"""`MemoryStore`: sessions in a dict of this process, for development, tests and single workers."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fastapi_anchor.clock import utc_now
from fastapi_anchor.copies import with_data
from fastapi_anchor.schema import dump_data, load_data, update_values
from fastapi_anchor.store import SessionExists, SessionRecord, StoreFull
from fastapi_anchor.toolkit import check_expiry_args

__all__ = ["DEFAULT_MAX_SESSIONS", "MemoryStore"]

DEFAULT_MAX_SESSIONS = 100_000

# Expired records a full `create` drops at a time: enough to make room for many creates, few
# enough that no single call blocks the event loop for long.
_RECLAIM_BATCH = 100


@dataclass(slots=True)
class _Row:
    """A stored record: data kept as JSON text, so callers never share it."""

    record: SessionRecord
    data_json: str

    @property
    def user_id(self) -> str:
        return self.record.user_id

    @property
    def expires_at(self) -> datetime:
        return self.record.expires_at

    def read(self) -> SessionRecord:
        return with_data(self.record, load_data(self.data_json))


class MemoryStore:
    """A `SessionStore` in this process's memory.

    Every method runs without awaiting, so it is atomic with respect to other tasks on the event
    loop. Sessions vanish when the process exits and are not shared between workers: use a
    PostgreSQL store for more than one process.

    When `max_sessions` records are held, `create` first drops expired ones (by `clock`, the
    soonest expired first, up to 100 at a time); if none has expired it raises `StoreFull`,
    which the app answers with 503. Live sessions are never evicted to make room. Records are
    kept ordered by expiry, so a `create` at capacity costs about the same whether it is
    refused or accepted, however many sessions are held.

    Args:
        max_sessions: Most records held at once.
        clock: Returns the current aware time; used only to drop expired records when full.
    """

    def __init__(
        self,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {max_sessions}")
        self.max_sessions = max_sessions
        self._clock = clock
        self._rows: dict[str, _Row] = {}
        self._by_user: dict[str, set[str]] = {}
        # (expires_at, id), soonest first. An update or delete leaves the old entry behind:
        # an entry counts only while its row exists with that same expires_at.
        self._expiry: list[tuple[datetime, str]] = []

    def __len__(self) -> int:
        return len(self._rows)

    async def create(self, record: SessionRecord) -> None:
        """Store `record`; raise `SessionExists` if its id is taken, `StoreFull` if full."""
        if record.id in self._rows:
            raise SessionExists(f"session id {record.id[:8]}... is already stored")
        row = _Row(replace(record, data={}), dump_data(record.data))
        if len(self._rows) >= self.max_sessions:
            self._drop_expired(self._clock(), _RECLAIM_BATCH)
            if len(self._rows) >= self.max_sessions:
                raise StoreFull(f"MemoryStore holds its maximum of {self.max_sessions} sessions")
        self._rows[record.id] = row
        self._by_user.setdefault(record.user_id, set()).add(record.id)
        self._push(row.expires_at, record.id)

    async def get(self, session_id: str) -> SessionRecord | None:
        """Return the record with this id, or None."""
        row = self._rows.get(session_id)
        return None if row is None else row.read()

    async def update(
        self,
        session_id: str,
        *,
        expires_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
        last_seen_at: datetime | None = None,
        authenticated_at: datetime | None = None,
    ) -> bool:
        """Change the given fields of an existing record; False if it is gone."""
        row = self._rows.get(session_id)
        if row is None:
            return False
        times = update_values(
            expires_at=expires_at,
            data=data,
            last_seen_at=last_seen_at,
            authenticated_at=authenticated_at,
        )
        new_data = times.pop("data", None)
        if times:
            row.record = replace(row.record, **times)
        if expires_at is not None:
            self._push(row.expires_at, session_id)
        if new_data is not None:
            row.data_json = new_data
        return True

    async def delete(self, session_id: str) -> bool:
        """Remove one record; return whether it existed."""
        row = self._rows.pop(session_id, None)
        if row is None:
            return False
        self._unindex(row.user_id, session_id)
        return True

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Remove every record of `user_id` but the one with id `keep`; return how many."""
        ids = self._by_user.pop(user_id, set())
        if keep in ids:
            ids.discard(keep)
            self._by_user[user_id] = {keep}
        for session_id in ids:
            del self._rows[session_id]
        return len(ids)

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        """Return every record of `user_id`."""
        return [self._rows[i].read() for i in self._by_user.get(user_id, ())]

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        """Remove at most `limit` records with `expires_at <= now`; return how many."""
        check_expiry_args(now, limit)
        return self._drop_expired(now, limit)

    async def count_expired(self, now: datetime) -> int:
        """Return how many records have `expires_at <= now`."""
        check_expiry_args(now, 1)
        return sum(1 for row in self._rows.values() if row.expires_at <= now)

    def _drop_expired(self, now: datetime, limit: int) -> int:
        heap, rows = self._expiry, self._rows
        dropped = 0
        while heap and dropped < limit and heap[0][0] <= now:
            expires_at, session_id = heapq.heappop(heap)
            row = rows.get(session_id)
            if row is None or row.expires_at != expires_at:
                continue  # left behind by a delete or an update
            del rows[session_id]
            self._unindex(row.user_id, session_id)
            dropped += 1
        return dropped

    def _push(self, expires_at: datetime, session_id: str) -> None:
        heap = self._expiry
        # Rebuilt when left-behind entries outnumber live ones: amortised O(1) per push, and
        # memory stays within about twice the live records however often sessions refresh.
        if len(heap) > 2 * len(self._rows) + 64:
            heap[:] = [(row.expires_at, i) for i, row in self._rows.items()]
            heapq.heapify(heap)
        heapq.heappush(heap, (expires_at, session_id))

    def _unindex(self, user_id: str, session_id: str) -> None:
        ids = self._by_user[user_id]
        ids.discard(session_id)
        if not ids:
            del self._by_user[user_id]
