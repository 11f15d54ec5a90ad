"""`ChangeFeed`: PostgreSQL's announcements of ended and changed sessions, for one worker.

The shared table's trigger sends `pg_notify(<table>, <session id>)` when a transaction that
deleted a session, or changed anything but its last-seen time, commits. A feed holds one
dedicated connection that LISTENs on that channel and hands each id to its subscribers. asyncpg
is imported when the feed starts, never with this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any, Protocol

from fastapi_anchor.logs import logger
from fastapi_anchor.schema import DEFAULT_TABLE_NAME, notify_channel

__all__ = ["ChangeFeed", "FeedSubscriber"]


class FeedSubscriber(Protocol):
    """What a `ChangeFeed` tells: announced sessions, losing and regaining its connection."""

    def feed_event(self, session_id: str | None) -> None:
        """A session changed or ended (its id), or the connection was lost (None)."""

    def feed_connected(self) -> None:
        """The feed listens (again): nothing that changes from now on goes unannounced."""


class ChangeFeed:
    """Listen for the shared table's change notifications on one dedicated connection.

    Start it in the app's lifespan (`async with feed:` or `start()` / `stop()`). While it is
    not connected (before the first connection, after a loss, during reconnects with
    exponential backoff) `connected` is False and subscribers have been told so with None.
    A silent network failure is noticed by a ping every `ping_interval` seconds.

    Args:
        dsn: A `postgresql://` DSN for a direct connection: LISTEN does not work through
            PgBouncer in transaction mode, so give the database's own address there. A
            SQLAlchemy URL's driver (`postgresql+asyncpg://`, `+psycopg`) is ignored.
        table: The sessions table's name (its channel has the same name).
        ping_interval: Seconds between pings of an idle connection.
        backoff: The first and the longest wait between reconnection attempts, in seconds.
        application_name: How the connection shows in `pg_stat_activity`.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: str = DEFAULT_TABLE_NAME,
        ping_interval: float = 2.0,
        backoff: tuple[float, float] = (0.05, 5.0),
        application_name: str = "fastapi-anchor feed",
    ) -> None:
        scheme, separator, rest = dsn.partition("://")
        if not separator or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
            raise ValueError(f"the feed needs a postgresql:// DSN, got {scheme or dsn!r}")
        self.dsn = f"postgresql://{rest}"
        self.channel = notify_channel(table)
        self.ping_interval = ping_interval
        self.backoff = backoff
        self.application_name = application_name
        self.connected = False
        """Whether the feed is listening now; if not, notifications may be missed."""
        self.reconnections = 0
        """How many times the connection was lost and made again."""
        self._subscribers: list[FeedSubscriber] = []
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None

    def subscribe(self, subscriber: FeedSubscriber) -> None:
        """Tell `subscriber` of each announced session, and of losing or making the connection.

        A subscriber added while the feed is connected is told so at once.
        """
        self._subscribers.append(subscriber)
        if self.connected:
            subscriber.feed_connected()

    async def start(self) -> None:
        """Start listening in the background; return once connected or after the first try."""
        if self._task is not None:
            return
        first_try = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(first_try))
        await first_try

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._lost()

    async def __aenter__(self) -> ChangeFeed:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _run(self, first_try: asyncio.Future[None]) -> None:
        import asyncpg  # type: ignore[import-untyped]  # imported only when a feed starts

        wait = self.backoff[0]
        while True:
            try:
                connection = await asyncpg.connect(
                    self.dsn,
                    timeout=self.ping_interval * 2,
                    server_settings={"application_name": self.application_name},
                )
                try:
                    await connection.add_listener(self.channel, self._on_notification)
                    # Told at once when the server ends the connection: no stale window.
                    connection.add_termination_listener(lambda _connection: self._lost())
                    self._connection, self.connected = connection, True
                    for subscriber in self._subscribers:
                        subscriber.feed_connected()
                    wait = self.backoff[0]
                    if not first_try.done():
                        first_try.set_result(None)
                    await self._watch(connection)
                finally:
                    self._lost()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), self.ping_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: tell subscribers, wait, reconnect
                logger.warning("session change feed disconnected: %s: %s", type(exc).__name__, exc)
            if not first_try.done():
                first_try.set_result(None)
            self.reconnections += 1
            await asyncio.sleep(wait * (0.5 + random.random() / 2))  # noqa: S311 - jitter only
            wait = min(wait * 2, self.backoff[1])

    async def _watch(self, connection: Any) -> None:
        """Return when the connection fails a ping or is closed by the server."""
        while not connection.is_closed():
            await asyncio.sleep(self.ping_interval)
            await asyncio.wait_for(connection.fetchval("SELECT 1"), self.ping_interval)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        for subscriber in self._subscribers:
            subscriber.feed_event(payload)

    def _lost(self) -> None:
        was_connected, self.connected, self._connection = self.connected, False, None
        if was_connected:
            for subscriber in self._subscribers:
                subscriber.feed_event(None)
