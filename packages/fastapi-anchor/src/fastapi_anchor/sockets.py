"""WebSocket sessions: handshakes authenticated by the cookie, sockets closed when it ends.

Closing codes: 1008 (policy violation) for no session, a forged or ended one and a cross-site
handshake; 1013 (try again later) when the store cannot answer; 1011 when the database refused
the call. A socket never refreshes its session: the idle deadline moves only with HTTP
requests, so a chatty socket writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import AsyncIterator, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import WebSocket, WebSocketException
from starlette.websockets import WebSocketState

from fastapi_anchor.cookies import scope_cookie
from fastapi_anchor.exceptions import StoreError, StoreUnavailable
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token

if TYPE_CHECKING:
    from fastapi_anchor.anchor import Anchor

__all__ = [
    "POLICY_VIOLATION",
    "TRY_AGAIN_LATER",
    "SocketRegistry",
    "WebSocketSessionDependency",
]

POLICY_VIOLATION = 1008
"""Close code for no session, a bad cookie, a cross-site handshake and an ended session."""

TRY_AGAIN_LATER = 1013
"""Close code when the store is unavailable: the client may reconnect later."""

INTERNAL_ERROR = 1011
"""Close code when the database refused the call (a deploy mistake, logged)."""


class SocketRegistry:
    """The open sockets of one `Anchor`, by session and by user, and their one expiry timer.

    `Anchor` calls `end_session` and `end_user` when it ends sessions (logout, revoke,
    rotation, log out everywhere); a change feed from the database calls the same methods for
    sessions ended by other processes. Expiry is watched by a single timer set for the
    soonest deadline of any open socket's session, which re-reads that session when it fires.
    """

    def __init__(self, anchor: Anchor) -> None:
        self._anchor = anchor
        self._by_session: dict[str, set[WebSocket]] = {}
        self._by_user: dict[str, set[str]] = {}
        self._records: dict[str, SessionRecord] = {}
        self._deadlines: list[tuple[datetime, str]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: datetime | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._by_session.values())

    async def authenticate(self, websocket: WebSocket) -> SessionRecord | None:
        """Return the handshake's live session, None without a valid one, or refuse it.

        Raises:
            WebSocketException: 1008 for a cross-site handshake, 1013 when the store is
                unavailable, 1011 when the database refused the call.
        """
        anchor = self._anchor
        value = scope_cookie(websocket.scope, anchor.cookie.name)
        if value is None:
            return None
        if not anchor.origin_policy.allows_handshake(websocket):
            raise WebSocketException(POLICY_VIOLATION, "Cross-site WebSocket refused")
        verified = anchor.signer.unsign(value)
        if verified is None:
            return None
        session_id = hash_token(verified[0])
        try:
            record = await anchor.store.get(session_id)
        except StoreError as exc:
            anchor.failure_log.record(exc, "get")
            if isinstance(exc, StoreUnavailable):
                raise WebSocketException(TRY_AGAIN_LATER, "Session store unavailable") from exc
            raise WebSocketException(INTERNAL_ERROR, "Session store error") from exc
        if record is None or record.id != session_id or not anchor.is_live(record):
            return None
        return record

    def add(self, websocket: WebSocket, record: SessionRecord) -> None:
        """Watch `websocket`, opened with `record`, until `discard`."""
        self._own_loop()
        self._by_session.setdefault(record.id, set()).add(websocket)
        self._by_user.setdefault(record.user_id, set()).add(record.id)
        self._records[record.id] = record
        self._schedule(record)

    def discard(self, websocket: WebSocket, record: SessionRecord) -> None:
        """Stop watching `websocket` (its endpoint returned)."""
        sockets = self._by_session.get(record.id)
        if sockets is None:
            return
        sockets.discard(websocket)
        if not sockets:
            self._forget(record.id)

    async def end_session(self, session_id: str, reason: str) -> None:
        """Close every socket of the session `session_id` with 1008 and `reason`."""
        sockets = self._by_session.get(session_id)
        if not sockets:
            return
        self._forget(session_id)
        await asyncio.gather(*(_close(ws, reason) for ws in sockets))

    async def end_user(self, user_id: str, reason: str, *, keep: str | None = None) -> None:
        """Close every socket of `user_id`'s sessions, but those of the session `keep`."""
        for session_id in list(self._by_user.get(user_id, ())):
            if session_id != keep:
                await self.end_session(session_id, reason)

    def feed_event(self, session_id: str | None) -> None:
        """A `ChangeFeed` subscriber: check again a watched session the database announced."""
        if session_id is not None and session_id in self._records:
            self._spawn(self._recheck([session_id], "Session ended"))

    def feed_connected(self) -> None:
        """A `ChangeFeed` subscriber: after a gap in the feed, check every watched session."""
        if self._records:
            self._spawn(self._recheck(list(self._records), "Session ended"))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recheck(self, session_ids: list[str], reason: str) -> None:
        """Read those sessions again and close (with `reason`) the sockets of the ended ones.

        The others are watched until their deadline, which HTTP requests may have moved.
        """
        anchor = self._anchor
        for session_id in session_ids:
            try:
                record = await anchor.store.get(session_id)
            except StoreError as exc:  # the store cannot say: judge by the record last read
                anchor.failure_log.record(exc, "get")
                record = self._records.get(session_id)
            if session_id not in self._records:
                continue  # closed meanwhile
            if record is not None and anchor.is_live(record):
                self._records[session_id] = record
                heapq.heappush(self._deadlines, (anchor.deadline(record), session_id))
            else:
                await self.end_session(session_id, reason)
        self._arm()

    def _forget(self, session_id: str) -> None:
        self._by_session.pop(session_id, None)
        record = self._records.pop(session_id, None)
        if record is None:
            return
        ids = self._by_user.get(record.user_id)
        if ids is not None:
            ids.discard(session_id)
            if not ids:
                del self._by_user[record.user_id]

    def _own_loop(self) -> None:
        """Sockets live on one event loop; a new loop (a new server, a test) starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._timer is not None:
                self._timer.cancel()
            self.__init__(self._anchor)  # type: ignore[misc]
            self._loop = loop

    def _schedule(self, record: SessionRecord) -> None:
        heapq.heappush(self._deadlines, (self._anchor.deadline(record), record.id))
        self._arm()

    def _arm(self) -> None:
        """Set the one timer for the soonest deadline of a watched session, if not set."""
        heap = self._deadlines
        while heap and heap[0][1] not in self._records:
            heapq.heappop(heap)  # left behind by a closed socket
        if not heap or (self._timer_at is not None and self._timer_at <= heap[0][0]):
            return
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        deadline = heap[0][0]
        delay = max(0.0, (deadline - self._anchor.clock()).total_seconds())
        self._timer_at = deadline
        self._timer = self._loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self._spawn(self._expire_due())

    async def _expire_due(self) -> None:
        now = self._anchor.clock()
        due: list[str] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, session_id = heapq.heappop(self._deadlines)
            if session_id in self._records and session_id not in due:
                due.append(session_id)
        await self._recheck(due, "Session expired")


async def _close(websocket: WebSocket, reason: str) -> None:
    if websocket.application_state is not WebSocketState.CONNECTED:
        return
    with contextlib.suppress(RuntimeError, OSError):  # closed meanwhile by either side
        await websocket.close(POLICY_VIOLATION, reason)


class WebSocketSessionDependency:
    """FastAPI dependency for WebSocket routes: the session of the handshake's cookie.

    Refuses the handshake with 1008 when there is no valid session (unless `optional`, which
    gives None), or when its `Origin` is not the app's own or trusted; 1013 when the store is
    unavailable. While the endpoint runs, the socket is closed with 1008 when its session ends.
    Use `Depends(anchor.websocket_session)`.
    """

    def __init__(self, anchor: Anchor, *, optional: bool = False) -> None:
        self.anchor = anchor
        self.optional = optional

    async def __call__(self, websocket: WebSocket) -> AsyncIterator[SessionRecord | None]:
        """Yield the socket's session (or None when optional), watched until the endpoint ends."""
        registry = self.anchor.sockets
        record = await registry.authenticate(websocket)
        if record is None:
            if not self.optional:
                raise WebSocketException(POLICY_VIOLATION, "Not authenticated")
            yield None
            return
        registry.add(websocket, record)
        try:
            yield record
        finally:
            registry.discard(websocket, record)
