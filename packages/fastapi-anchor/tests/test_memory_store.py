"""MemoryStore behaviour beyond the conformance suite: its size bound."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import anyio
import pytest

from fastapi_anchor import MemoryStore, SessionRecord, StoreFull, StoreUnavailable, hash_token

T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


def record(n: int, expires_in: timedelta = timedelta(hours=1)) -> SessionRecord:
    return SessionRecord(hash_token(str(n)), f"user{n}", T0, T0 + expires_in, {})


@pytest.mark.anyio
async def test_full_store_drops_expired_sessions_before_refusing() -> None:
    store = MemoryStore(max_sessions=3, clock=lambda: T0 + timedelta(minutes=30))
    await store.create(record(1, timedelta(minutes=10)))  # expired by the clock
    await store.create(record(2))
    await store.create(record(3))
    await store.create(record(4))  # makes room by dropping record 1
    assert await store.get(record(1).id) is None
    assert len(store) == 3


@pytest.mark.anyio
async def test_full_store_refuses_new_sessions_and_keeps_live_ones() -> None:
    store = MemoryStore(max_sessions=2, clock=lambda: T0)
    await store.create(record(1))
    await store.create(record(2))
    with pytest.raises(StoreFull, match="maximum of 2"):
        await store.create(record(3))
    assert issubclass(StoreFull, StoreUnavailable)  # answered with 503
    assert await store.get(record(1).id) is not None
    assert await store.get(record(2).id) is not None


@pytest.mark.anyio
async def test_a_refreshed_session_is_not_reclaimed_at_its_old_expiry() -> None:
    """Expiry order must follow `update`: a session moved forward is live, not reclaimable."""
    store = MemoryStore(max_sessions=2, clock=lambda: T0 + timedelta(minutes=30))
    await store.create(record(1, timedelta(minutes=10)))
    await store.create(record(2))
    assert await store.update(record(1).id, expires_at=T0 + timedelta(hours=3))
    with pytest.raises(StoreFull):
        await store.create(record(3))
    assert await store.get(record(1).id) is not None
    assert await store.get(record(2).id) is not None


@pytest.mark.anyio
async def test_a_session_moved_into_the_past_is_reclaimed() -> None:
    store = MemoryStore(max_sessions=2, clock=lambda: T0 + timedelta(minutes=30))
    await store.create(record(1))
    await store.create(record(2))
    assert await store.update(record(2).id, expires_at=T0 + timedelta(minutes=5))
    await store.create(record(3))
    assert await store.get(record(2).id) is None
    assert await store.get(record(1).id) is not None
    assert len(store) == 2


@pytest.mark.anyio
async def test_reclaiming_skips_deleted_and_recreated_sessions() -> None:
    store = MemoryStore(max_sessions=2, clock=lambda: T0 + timedelta(minutes=30))
    await store.create(record(1, timedelta(minutes=10)))
    await store.create(record(2, timedelta(minutes=20)))
    assert await store.delete(record(1).id)
    # Same id again, now live: its old, expired entry must not take the new session with it.
    await store.create(record(1, timedelta(hours=1)))
    await store.create(record(3))  # reclaims record 2 only
    assert await store.get(record(1).id) is not None
    assert await store.get(record(2).id) is None
    with pytest.raises(StoreFull):
        await store.create(record(4))


@pytest.mark.anyio
async def test_full_store_reclaims_every_expired_session_and_evicts_no_live_one() -> None:
    now = T0 + timedelta(hours=1)
    store = MemoryStore(max_sessions=100, clock=lambda: now)
    for n in range(100):  # even: expired, odd: live
        await store.create(record(n, timedelta(minutes=30 if n % 2 == 0 else 90)))
    for n in range(100, 150):
        await store.create(record(n, timedelta(hours=2)))
    with pytest.raises(StoreFull):
        await store.create(record(150))
    for n in range(100):
        assert (await store.get(record(n).id) is None) == (n % 2 == 0), n


@pytest.mark.anyio
async def test_many_refreshes_keep_expiry_order_right() -> None:
    """Refreshing sessions over and over leaves the order (and the store's size) right."""
    clock_now = [T0]
    store = MemoryStore(max_sessions=10, clock=lambda: clock_now[0])
    for n in range(10):
        await store.create(record(n, timedelta(minutes=10)))
    for step in range(1, 200):
        for n in range(5):  # sessions 0-4 keep being refreshed, 5-9 are left to expire
            await store.update(record(n).id, expires_at=T0 + timedelta(minutes=10 + step))
    clock_now[0] = T0 + timedelta(minutes=30)
    assert await store.delete_expired(clock_now[0], limit=3) == 3
    assert await store.delete_expired(clock_now[0]) == 2
    assert await store.delete_expired(clock_now[0]) == 0
    kept = [n for n in range(10) if await store.get(record(n).id) is not None]
    assert kept == [0, 1, 2, 3, 4]  # the refreshed ones
    for n in range(10, 15):
        await store.create(record(n))
    with pytest.raises(StoreFull):
        await store.create(record(15))


def test_size_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_sessions"):
        MemoryStore(max_sessions=0)


@pytest.mark.anyio
async def test_data_that_json_cannot_hold_is_refused() -> None:
    store = MemoryStore()
    with pytest.raises(TypeError):
        await store.create(SessionRecord("x" * 64, "u", T0, T0, {"when": T0}))
    with pytest.raises(ValueError, match="Out of range float"):
        await store.create(SessionRecord("y" * 64, "u", T0, T0, {"n": float("nan")}))
    assert len(store) == 0


def test_naive_datetimes_are_refused_by_the_record() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SessionRecord("x" * 64, "u", datetime(2030, 1, 1), T0, {})


def test_delete_expired_refuses_bad_arguments() -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match="limit"):
        anyio.run(store.delete_expired, T0, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        anyio.run(store.delete_expired, datetime(2030, 1, 1))


@pytest.mark.parametrize("user_id", ["x" * 256, "a\x00b"])
def test_user_ids_the_shared_table_cannot_hold_are_refused(user_id: str) -> None:
    with pytest.raises(ValueError, match="user_id"):
        SessionRecord("x" * 64, user_id, T0, T0, {})
