"""`SessionCache`: recently read sessions kept in this worker, dropped when the database says.

Kept correct by a `ChangeFeed`: every session the database announces as ended or changed is
dropped, and while the feed is not connected the cache is empty and bypassed. A read that began
before an invalidation never stores what it read (a generation counter), so a logout on any
worker is never undone by a slow read racing it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import timedelta

from fastapi_anchor.copies import with_data
from fastapi_anchor.exceptions import ConfigurationError
from fastapi_anchor.schema import dump_data, load_data
from fastapi_anchor.store import SessionRecord

__all__ = ["SessionCache"]


class SessionCache:
    """A bounded, time-limited map of session id to record, safe to share by one `Anchor`.

    Each hit returns a record of its own (data decoded from JSON text), so a route changing
    `session.data` changes nothing the next request sees.

    Args:
        max_entries: Most sessions kept; the least recently used goes first.
        max_age: Longest time a record is served without reading the store again: a safety
            net behind the feed, not what makes logout take effect.
    """

    def __init__(
        self, max_entries: int = 10_000, max_age: timedelta = timedelta(seconds=60)
    ) -> None:
        if max_entries < 1:
            raise ConfigurationError(f"max_entries must be at least 1, got {max_entries}")
        if max_age <= timedelta(0):
            raise ConfigurationError(f"max_age must be positive, got {max_age}")
        self.max_entries = max_entries
        self.max_age = max_age.total_seconds()
        self.active = False
        """Whether the cache serves: only while its feed is connected."""
        self.hits = 0
        self.misses = 0
        # id -> (record, its data as JSON text, when stored): each hit gets data of its own.
        self._entries: OrderedDict[str, tuple[SessionRecord, str, float]] = OrderedDict()
        self._generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, session_id: str) -> SessionRecord | None:
        """Return the cached record of `session_id`, or None (read the store then)."""
        if not self.active:
            return None
        entry = self._entries.get(session_id)
        if entry is None or time.monotonic() - entry[2] > self.max_age:
            self.misses += 1
            return None
        self._entries.move_to_end(session_id)
        self.hits += 1
        record, data, _ = entry
        return with_data(record, load_data(data) if data != "{}" else {})

    def generation(self) -> int:
        """A token to take before reading the store, for `fill`."""
        return self._generation

    def fill(self, record: SessionRecord, generation: int) -> None:
        """Keep `record`, read from the store, unless an invalidation came after `generation`."""
        if self.active and generation == self._generation:
            self.put(record)

    def put(self, record: SessionRecord) -> None:
        """Keep `record`, written by this worker (a refresh, a last-seen time)."""
        if not self.active:
            return
        self._entries[record.id] = (record, dump_data(record.data), time.monotonic())
        self._entries.move_to_end(record.id)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, session_id: str) -> None:
        """Drop `session_id` (it ended or changed); reads in flight will not store it."""
        self._generation += 1
        self._entries.pop(session_id, None)

    def discard_user(self, user_id: str, *, keep: str | None = None) -> None:
        """Drop every cached session of `user_id` but `keep` (log out everywhere)."""
        self._generation += 1
        for session_id in [
            i for i, (r, _, _) in self._entries.items() if r.user_id == user_id and i != keep
        ]:
            del self._entries[session_id]

    def feed_event(self, session_id: str | None) -> None:
        """A `ChangeFeed` subscriber: drop the announced session; None empties and pauses."""
        if session_id is not None:
            self.discard(session_id)
            return
        self.active = False
        self._generation += 1
        self._entries.clear()

    def feed_connected(self) -> None:
        """Serve again: the feed is listening, so no change can go unannounced from now on."""
        self._generation += 1
        self._entries.clear()
        self.active = True
