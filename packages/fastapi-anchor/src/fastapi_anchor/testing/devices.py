"""Devices: login details, last-seen and re-authentication times, ending all sessions but one."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from fastapi_anchor.store import MAX_IP_ADDRESS_LENGTH, MAX_USER_AGENT_LENGTH
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import check_raises, check_record, check_records
from fastapi_anchor.testing.records import T0, make_record, new_id

__all__ = ["DeviceRules"]

LONGEST_IP = "0000:0000:0000:0000:0000:ffff:255.255.255.255"
"""An IPv4-mapped IPv6 address written out in full: the longest address text."""

DETAILS: dict[str, Any] = {
    "authenticated_at": T0 + timedelta(minutes=5, microseconds=11),
    "last_seen_at": T0 + timedelta(minutes=9, microseconds=13),
    "ip_address": "2001:db8::1",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Zoë/1.0 🚀",
    "persistent": False,
}


class DeviceRules(SuiteBase[StoreT]):
    """A record's device fields round-trip; `update` and `delete_user(keep=)` act precisely."""

    async def test_device_fields_round_trip(self, store: StoreT) -> None:
        """The login details, both times and `persistent` come back exactly, from get and list_user.

        A devices page shows them; re-authentication trusts `authenticated_at`.
        """
        records = [
            make_record(**DETAILS),
            make_record(ip_address="203.0.113.7", user_agent="x" * MAX_USER_AGENT_LENGTH),
            make_record(ip_address=LONGEST_IP, user_agent="é" * MAX_USER_AGENT_LENGTH),
        ]
        assert len(LONGEST_IP) == MAX_IP_ADDRESS_LENGTH
        for record in records:
            await store.create(record)
            check_record("device fields round trip", await store.get(record.id), record)
            check_records(
                "device fields round trip (list_user)",
                await store.list_user(record.user_id),
                [record],
            )

    async def test_device_fields_default_to_the_login(self, store: StoreT) -> None:
        """A record built with the first five fields reads back with the documented defaults.

        `authenticated_at` and `last_seen_at` are `created_at`, no address or agent, and a
        persistent cookie: what a session written by older code means.
        """
        record = make_record(data={"old": True})
        assert record.authenticated_at == record.created_at == record.last_seen_at
        await store.create(record)
        stored = await store.get(record.id)
        check_record("device fields default to the login", stored, record)

    async def test_update_sets_last_seen_and_authenticated_only(self, store: StoreT) -> None:
        """`update`(last_seen_at=) and update(authenticated_at=) change that field alone.

        `created_at` never moves (the absolute timeout counts from it), and neither time
        touches the other, the deadline or the data.
        """
        record = make_record(data={"keep": [1]}, **DETAILS)
        await store.create(record)
        seen = T0 + timedelta(hours=2, microseconds=3)
        assert await store.update(record.id, last_seen_at=seen) is True
        record = replace(record, last_seen_at=seen)
        check_record("update(last_seen_at=) changes only it", await store.get(record.id), record)

        proved = T0 + timedelta(hours=3, microseconds=5)
        assert await store.update(record.id, authenticated_at=proved) is True
        record = replace(record, authenticated_at=proved)
        check_record(
            "update(authenticated_at=) changes only it", await store.get(record.id), record
        )

        later = T0 + timedelta(days=2)
        assert await store.update(record.id, expires_at=later, last_seen_at=later) is True
        record = replace(record, expires_at=later, last_seen_at=later)
        check_record("a refresh with last_seen_at", await store.get(record.id), record)

    async def test_update_of_device_times_never_resurrects(self, store: StoreT) -> None:
        """`update` of the new times on a deleted or unknown id returns False and stores nothing."""
        record = make_record()
        await store.create(record)
        assert await store.delete(record.id) is True
        for session_id in (record.id, new_id()):
            assert await store.update(session_id, last_seen_at=T0) is False, (
                "update(last_seen_at=) of a missing id must return False"
            )
            assert await store.update(session_id, authenticated_at=T0) is False, (
                "update(authenticated_at=) of a missing id must return False"
            )
            assert await self.read_stored(store, session_id) is None, "update created a record"

    async def test_update_refuses_naive_device_times(self, store: StoreT) -> None:
        """A naive `last_seen_at` or `authenticated_at` raises ValueError and changes nothing."""
        record = make_record()
        await store.create(record)
        naive = datetime(2031, 1, 1, 12, 0, 0)  # naive on purpose
        await check_raises(
            "update refuses a naive last_seen_at",
            ValueError,
            store.update(record.id, last_seen_at=naive),
        )
        await check_raises(
            "update refuses a naive authenticated_at",
            ValueError,
            store.update(record.id, authenticated_at=naive),
        )
        check_record("a refused update changes nothing", await store.get(record.id), record)

    async def test_delete_user_keeps_only_the_kept_session(self, store: StoreT) -> None:
        """`delete_user(user, keep=id)` removes the user's other sessions and counts only them.

        "Log out my other devices" after a password change: the current session survives,
        every other one ends, and nobody else's is touched. A `keep` that is not one of the
        user's sessions protects nothing.
        """
        kept = make_record(data={"kept": True})
        others = [make_record(kept.user_id, data={"n": n}) for n in range(3)]
        stranger = make_record()
        for record in (kept, *others, stranger):
            await store.create(record)
        count = await store.delete_user(kept.user_id, keep=kept.id)
        assert count == len(others), f"delete_user(keep=) must return {len(others)}, got {count}"
        check_records("delete_user(keep=) keeps one", await store.list_user(kept.user_id), [kept])
        check_record("delete_user(keep=) leaves others", await store.get(stranger.id), stranger)

        count = await store.delete_user(kept.user_id, keep=stranger.id)
        assert count == 1, f"keep= of another user's session protects nothing: got {count}"
        check_record("keep= of another user", await store.get(stranger.id), stranger)
        count = await store.delete_user(stranger.user_id, keep=new_id())
        assert count == 1, f"keep= of an unknown id protects nothing: got {count}"
