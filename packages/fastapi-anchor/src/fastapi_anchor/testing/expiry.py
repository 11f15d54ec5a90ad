"""Expiry: delete_expired removes exactly the rows with `expires_at <= now`, in batches.

It is the one method that acts on the whole store, so these tests rely on the `store` fixture
yielding an empty store; they keep to a handful of rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fastapi_anchor.store import CountsExpired, SessionRecord
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import check_raises, check_record
from fastapi_anchor.testing.records import T0, make_record

__all__ = ["ExpiryRules"]

NOW = T0 + timedelta(days=10, microseconds=500_000)
MICRO = timedelta(microseconds=1)


def _expiring_at(*deadlines: datetime) -> list[SessionRecord]:
    return [make_record(created_at=T0 - timedelta(days=30), expires_at=at) for at in deadlines]


class ExpiryRules(SuiteBase[StoreT]):
    """Expired rows go when delete_expired says so, live rows never do."""

    async def _check_removed(
        self, store: StoreT, rule: str, gone: list[SessionRecord], kept: list[SessionRecord]
    ) -> None:
        for record in gone:
            found = await self.read_stored(store, record.id)
            assert found is None, f"{rule}: row expiring at {record.expires_at} was kept"
        for record in kept:
            check_record(f"{rule}: a live row must stay", await store.get(record.id), record)

    async def test_delete_expired_removes_exactly_rows_expiring_at_or_before_now(
        self, store: StoreT
    ) -> None:
        """`delete_expired`(now) removes rows with expires_at <= now, the boundary included.

        It returns how many it removed; a row one microsecond in the future stays.
        """
        rule = "delete_expired removes exactly expires_at <= now"
        assert await store.delete_expired(NOW) == 0, f"{rule}: an empty store has nothing to remove"
        gone = _expiring_at(NOW - timedelta(days=1), NOW - MICRO, NOW)
        kept = _expiring_at(NOW + MICRO, NOW + timedelta(days=1))
        for record in [*gone, *kept]:
            await store.create(record)
        count = await store.delete_expired(NOW)
        assert count == len(gone), f"{rule}: expected to remove {len(gone)} rows, reported {count}"
        await self._check_removed(store, rule, gone, kept)
        assert await store.delete_expired(NOW) == 0, f"{rule}: a second call must remove nothing"

    async def test_delete_expired_compares_instants_across_time_zones(self, store: StoreT) -> None:
        """`delete_expired` compares instants: `now` given in another time zone means the same.

        Comparing wall-clock times instead would remove live sessions or keep dead ones.
        """
        for hours, day in ((2, 3), (-7, 2), (14, 1)):  # latest first: earlier rounds stay live
            boundary = NOW + timedelta(days=day)
            now = boundary.astimezone(timezone(timedelta(hours=hours)))
            gone = _expiring_at(boundary - MICRO, boundary)
            kept = _expiring_at(boundary + MICRO, boundary + timedelta(hours=abs(hours)))
            for record in [*gone, *kept]:
                await store.create(record)
            rule = f"delete_expired with now in UTC{hours:+}"
            count = await store.delete_expired(now)
            assert count == len(gone), f"{rule}: expected {len(gone)} rows removed, got {count}"
            await self._check_removed(store, rule, gone, kept)

    async def test_delete_expired_respects_the_batch_limit(self, store: StoreT) -> None:
        """`delete_expired`(now, limit) removes at most `limit` rows and reports how many.

        Cleanup runs in batches so that one call never locks a large table for long.
        """
        expired = _expiring_at(*(NOW - timedelta(minutes=m) for m in range(7)))
        live = _expiring_at(NOW + MICRO, NOW + timedelta(days=1))
        for record in [*expired, *live]:
            await store.create(record)
        remaining = set(r.id for r in expired)
        for want in (3, 3, 1, 0):
            count = await store.delete_expired(NOW, limit=3)
            assert count == want, f"delete_expired batch limit: expected {want}, got {count}"
            still = {i for i in remaining if await self.read_stored(store, i) is not None}
            removed = len(remaining) - len(still)
            assert removed == count, (
                f"delete_expired batch limit: reported {count}, removed {removed}"
            )
            remaining = still
        assert await store.delete_expired(NOW, limit=1) == 0
        await self._check_removed(store, "delete_expired batch limit", expired, live)

    async def test_delete_expired_refuses_naive_now_and_a_limit_below_one(
        self, store: StoreT
    ) -> None:
        """`delete_expired` raises ValueError for a naive `now` or a limit below 1, removes nothing.

        Stores call `check_expiry_args` for this.
        """
        (record,) = _expiring_at(NOW - timedelta(days=1))
        await store.create(record)
        naive = NOW.replace(tzinfo=None)
        await check_raises(
            "delete_expired refuses a naive now", ValueError, store.delete_expired(naive)
        )
        for limit in (0, -1):
            await check_raises(
                f"delete_expired refuses limit={limit}",
                ValueError,
                store.delete_expired(NOW, limit=limit),
            )
        check_record("a refused delete_expired removes nothing", await store.get(record.id), record)

    async def test_count_expired_counts_rows_expiring_at_or_before_now(self, store: StoreT) -> None:
        """count_expired(now) counts the rows delete_expired(now) would remove, removing none.

        Optional: only for stores that implement `CountsExpired` (the `cleanup --dry-run` of
        the command line shows this count, so it must agree with delete_expired).
        """
        counter: object = store  # a StoreT may or may not also be a CountsExpired
        if not isinstance(counter, CountsExpired):
            pytest.skip("the store does not implement the optional CountsExpired.count_expired")
        rule = "count_expired counts exactly expires_at <= now"
        assert await counter.count_expired(NOW) == 0, f"{rule}: an empty store counts 0"
        gone = _expiring_at(NOW - timedelta(days=1), NOW - MICRO, NOW)
        kept = _expiring_at(NOW + MICRO, NOW + timedelta(days=1))
        for record in [*gone, *kept]:
            await store.create(record)
        in_zone = NOW.astimezone(timezone(timedelta(hours=-5)))
        for now in (NOW, in_zone):
            count = await counter.count_expired(now)
            assert count == len(gone), f"{rule}: expected {len(gone)}, counted {count!r}"
        await self._check_removed(store, f"{rule} (and removes nothing)", [], [*gone, *kept])
        await check_raises(
            "count_expired refuses a naive now",
            ValueError,
            counter.count_expired(NOW.replace(tzinfo=None)),
        )
        assert await store.delete_expired(NOW) == len(gone), f"{rule}: delete_expired disagrees"
