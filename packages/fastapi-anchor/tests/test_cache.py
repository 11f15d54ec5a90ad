"""SessionCache on its own: served only while active, bounded, time-limited, never shares
data between requests, and refuses a fill that an invalidation overtook."""

# No `from __future__ import annotations`: FastAPI must see the routes' `Depends`.

import time
from datetime import timedelta

import pytest

from fastapi_anchor import ConfigurationError, SessionRecord
from fastapi_anchor.cache import SessionCache

from anchor_support import T0


def record(n: int = 0, user: str = "alice", **data: object) -> SessionRecord:
    return SessionRecord(f"{n:064x}", user, T0, T0 + timedelta(hours=1), dict(data))


def test_nothing_is_served_until_the_feed_is_connected() -> None:
    cache = SessionCache()
    cache.put(record())
    assert cache.get(record().id) is None
    cache.feed_connected()
    cache.put(record())
    assert cache.get(record().id) == record()
    cache.feed_event(None)  # the feed lost its connection
    assert (cache.active, len(cache)) == (False, 0)
    assert cache.get(record().id) is None


def test_each_hit_has_data_of_its_own() -> None:
    cache = SessionCache()
    cache.feed_connected()
    cache.put(record(cart=[1]))
    first = cache.get(record().id)
    assert first is not None
    first.data["cart"].append(2)  # type: ignore[index]
    second = cache.get(record().id)
    assert second is not None
    assert second.data == {"cart": [1]}


def test_a_fill_overtaken_by_an_invalidation_is_dropped() -> None:
    cache = SessionCache()
    cache.feed_connected()
    before = cache.generation()
    cache.feed_event(record(1).id)  # any announcement while the read was in flight
    cache.fill(record(), before)
    assert len(cache) == 0
    cache.fill(record(), cache.generation())
    assert len(cache) == 1


def test_entries_are_bounded_and_expire() -> None:
    cache = SessionCache(max_entries=2, max_age=timedelta(milliseconds=50))
    cache.feed_connected()
    for n in range(3):
        cache.put(record(n))
    assert len(cache) == 2
    assert cache.get(record(0).id) is None  # the least recently used went first
    assert cache.get(record(2).id) is not None
    time.sleep(0.06)
    assert cache.get(record(2).id) is None


def test_discarding_a_user_keeps_the_kept_session_and_strangers() -> None:
    cache = SessionCache()
    cache.feed_connected()
    for n, user in enumerate(["alice", "alice", "bob"]):
        cache.put(record(n, user))
    cache.discard_user("alice", keep=record(1).id)
    assert [cache.get(record(n).id) is not None for n in range(3)] == [False, True, True]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"max_entries": 0}, "max_entries"), ({"max_age": timedelta(0)}, "max_age")],
)
def test_bad_settings_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SessionCache(**options)  # type: ignore[arg-type]


def test_the_feed_takes_a_sqlalchemy_url_and_refuses_other_databases() -> None:
    from fastapi_anchor.feed import ChangeFeed

    feed = ChangeFeed("postgresql+asyncpg://app:secret@db:5432/app", table="sessions")
    assert (feed.dsn, feed.channel, feed.connected) == (
        "postgresql://app:secret@db:5432/app",
        "sessions",
        False,
    )
    with pytest.raises(ValueError, match="postgresql://"):
        ChangeFeed("mysql://app@db/app")


def test_sensitive_dependencies_read_the_store_and_others_the_cache() -> None:
    from typing import Annotated

    from fastapi import Depends, FastAPI, Response
    from fastapi.testclient import TestClient

    from fastapi_anchor import Anchor
    from fastapi_anchor.feed import ChangeFeed

    from anchor_support import SECRET, CountingStore

    store, cache = CountingStore(), SessionCache()
    feed = ChangeFeed("postgresql://nobody@127.0.0.1:1/none")  # never started
    anchor = Anchor(store, secret_keys=SECRET, feed=feed, cache=cache)
    cache.feed_connected()  # as a connected feed would
    app = FastAPI()
    cached = Annotated[SessionRecord, Depends(anchor.session)]
    fresh = Annotated[SessionRecord, Depends(anchor.dependency(sensitive=True))]

    @app.post("/login")
    async def login(response: Response) -> None:
        await anchor.login(response, "alice")

    @app.get("/cached")
    async def read_cached(session: cached) -> str:
        return session.user_id

    @app.get("/fresh")
    async def read_fresh(session: fresh) -> str:
        return session.user_id

    with TestClient(app, base_url="https://testserver") as client:
        client.post("/login")
        for path in ("/cached", "/cached", "/cached", "/fresh", "/fresh"):
            assert client.get(path).json() == "alice"
    assert store.calls["get"] == 1 + 2  # the first cached read, then every sensitive one
