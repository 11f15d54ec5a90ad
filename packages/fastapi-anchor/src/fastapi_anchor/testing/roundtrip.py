"""Round trips: what `create` stores comes back from `get` and `list_user`, field by field."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import check_record, check_records
from fastapi_anchor.testing.records import (
    FLOATS_OF_ANY_MAGNITUDE,
    NESTED_DATA,
    NUMBERS,
    T0,
    UNICODE_TEXTS,
    large_data,
    make_record,
    new_user,
)
from fastapi_anchor.testing.settings import suite_settings
from fastapi_anchor.testing.strategies import aware_datetimes, json_objects, texts

__all__ = ["RoundTripRules"]


class RoundTripRules(SuiteBase[StoreT]):
    """Every field survives the store exactly: texts, JSON types, sizes, instants."""

    async def _round_trip(self, store: StoreT, record: SessionRecord, rule: str) -> None:
        await store.create(record)
        check_record(f"{rule} (get)", await store.get(record.id), record)
        check_record(f"{rule} (as stored)", await self.read_stored(store, record.id), record)
        check_records(f"{rule} (list_user)", await store.list_user(record.user_id), [record])

    async def test_create_then_get_round_trips_every_field(self, store: StoreT) -> None:
        """A created record reads back equal, field by field: the store adds and loses nothing."""
        record = make_record(
            expires_at=T0 + timedelta(hours=1, microseconds=1),
            data={"name": "Zoë 🚀", "n": 1, "x": 1.5, "ok": True, "none": None, "l": [1, "a"]},
        )
        await self._round_trip(store, record, "create/get round trip")

    async def test_round_trip_keeps_unicode_and_emoji(self, store: StoreT) -> None:
        """User ids, data keys and values keep every code point: accents, scripts, emoji, controls.

        Nothing is normalised, escaped twice or cut: a user id must match itself exactly.
        """
        for text in UNICODE_TEXTS:
            user_id = f"{text}·{secrets.token_hex(4)}"
            record = make_record(user_id, data={text: text, "all": list(UNICODE_TEXTS)})
            await self._round_trip(store, record, f"unicode round trip of {text!a}")
        longest = ("Zoë🚀用" * 60)[:242] + "-" + secrets.token_hex(6)  # 255 code points
        await self._round_trip(store, make_record(longest), "255-character user id round trip")

    async def test_round_trip_keeps_nested_json(self, store: StoreT) -> None:
        """Nested objects and arrays, empty ones and odd keys come back as stored."""
        await self._round_trip(store, make_record(data=NESTED_DATA), "nested JSON round trip")

    async def test_round_trip_keeps_empty_data(self, store: StoreT) -> None:
        """Empty data comes back as an empty object, not None, a list or a missing field."""
        await self._round_trip(store, make_record(data={}), "empty data round trip")

    async def test_round_trip_keeps_large_data(self, store: StoreT) -> None:
        """A 100 KiB data object comes back whole (flag `supports_large_data`)."""
        self._require("supports_large_data")
        await self._round_trip(store, make_record(data=large_data()), "100 KiB data round trip")

    async def test_round_trip_keeps_json_number_types(self, store: StoreT) -> None:
        """Integers stay integers and floats stay floats (1.0 is not 1), big integers exactly."""
        data = {**NUMBERS, "array": list(NUMBERS.values())}
        await self._round_trip(store, make_record(data=data), "JSON number round trip")

    async def test_round_trip_keeps_floats_of_any_magnitude(self, store: StoreT) -> None:
        """Floats Python writes with an exponent (1e16, 1.5e300, 5e-324) come back as floats.

        A jsonb column prints 1e16 as 10000000000000000, which reads back as an int, unless
        the JSON text keeps a decimal point.
        """
        data = {**FLOATS_OF_ANY_MAGNITUDE, "array": list(FLOATS_OF_ANY_MAGNITUDE.values())}
        await self._round_trip(store, make_record(data=data), "float magnitude round trip")

    async def test_round_trip_keeps_booleans_and_null(self, store: StoreT) -> None:
        """true, false and null stay themselves, not 1, 0, "" or a missing key."""
        data = {
            "yes": True,
            "no": False,
            "nothing": None,
            "array": [True, False, None, 0, 1, ""],
            "nested": {"no": False, "nothing": None},
        }
        await self._round_trip(store, make_record(data=data), "boolean and null round trip")

    async def test_timestamps_come_back_aware_utc_with_microseconds(self, store: StoreT) -> None:
        """`created_at` and expires_at come back timezone-aware, in UTC, microseconds kept.

        The core compares them with an aware clock; a lost microsecond moves a deadline.
        """
        for micro in (0, 1, 500_000, 999_999):
            created = T0.replace(microsecond=micro)
            record = make_record(created_at=created, expires_at=created + timedelta(seconds=1.5))
            await self._round_trip(store, record, f"timestamp round trip (µs={micro})")

    async def test_timestamps_from_other_time_zones_keep_their_instant(self, store: StoreT) -> None:
        """Datetimes given in other time zones are stored as the same instant and read as UTC.

        Covers `create` (the record is built from +05:30 values) and `update`, which receives
        the caller's datetime as is.
        """
        india = timezone(timedelta(hours=5, minutes=30))
        created = datetime(2030, 6, 1, 23, 30, 0, 123456, tzinfo=india)
        record = make_record(created_at=created, expires_at=created + timedelta(minutes=45))
        assert record.created_at.hour == 18  # SessionRecord normalised it to UTC
        await self._round_trip(store, record, "time zone round trip (create)")
        for hours in (14, -9.5, 0):
            zone = timezone(timedelta(hours=hours))
            new_expiry = datetime(2031, 12, 31, 23, 59, 59, 999_999, tzinfo=zone)
            assert await store.update(record.id, expires_at=new_expiry) is True
            expected = replace(record, expires_at=new_expiry)
            check_record(
                f"time zone round trip (update with UTC{hours:+})",
                await store.get(record.id),
                expected,
            )

    @suite_settings
    @given(
        data=json_objects,
        user=texts,
        created_at=aware_datetimes,
        lifetime=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    )
    async def test_round_trip_of_random_records(
        self,
        store: StoreT,
        data: dict[str, object],
        user: str,
        created_at: datetime,
        lifetime: timedelta,
    ) -> None:
        """Generated records (any text, JSON value, instant and zone) round trip exactly."""
        record = make_record(
            f"{user}-{new_user()}",
            created_at=created_at,
            expires_at=created_at + lifetime,
            data=data,
        )
        await self._round_trip(store, record, "random record round trip")
