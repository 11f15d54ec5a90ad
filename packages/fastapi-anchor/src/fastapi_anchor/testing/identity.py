"""Identity: one record per id, found by exactly that id, until it is deleted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi_anchor.store import SessionExists
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import check_raises, check_record, check_records
from fastapi_anchor.testing.records import T0, make_record, new_id, new_user

__all__ = ["IdentityRules"]


def _near_misses(session_id: str) -> list[str]:
    """Ids a loose lookup (prefix, case, trim, LIKE pattern) would confuse with `session_id`."""
    return [
        session_id.upper(),
        session_id[:-1],
        session_id[:32],
        session_id + " ",
        " " + session_id,
        session_id + "\n",
        session_id[:-1] + "_",
        session_id[:-1] + "%",
        session_id + "%",
        "%",
        "_" * 64,
        "",
    ]


class IdentityRules(SuiteBase[StoreT]):
    """`create` refuses duplicates; get, update and delete find a record by its exact id."""

    async def test_duplicate_id_raises_session_exists(self, store: StoreT) -> None:
        """`create` with a stored id raises SessionExists and leaves the first record intact.

        Overwriting would hand an existing session to whoever created the second record.
        """
        first = make_record(data={"who": "first"})
        await store.create(first)
        intruder = make_record(
            new_user("intruder"),
            id=first.id,
            created_at=T0 + timedelta(days=1),
            expires_at=T0 + timedelta(days=2),
            data={"who": "intruder"},
        )
        rule = "duplicate id on create"
        await check_raises(rule, SessionExists, store.create(intruder))
        check_record(f"{rule} must leave the first record intact", await store.get(first.id), first)
        check_records(
            f"{rule} must not file the record under the second user",
            await store.list_user(intruder.user_id),
            [],
        )

    async def test_get_of_unknown_id_is_none(self, store: StoreT) -> None:
        """`get` of an id never stored returns None (not an error, not another record)."""
        assert await store.get(new_id()) is None, "get of an unknown id on an empty store"
        await store.create(make_record())
        assert await store.get(new_id()) is None, "get of an unknown id must return None"

    async def test_ids_are_compared_exactly(self, store: StoreT) -> None:
        """`get`, update and delete match the whole id exactly: no prefix, case, trim or pattern.

        A loose match would let a fragment or a variant of an id reach someone else's session.
        """
        record = make_record()
        await store.create(record)
        for variant in _near_misses(record.id):
            found = await store.get(variant)
            assert found is None, f"ids compared exactly: get({variant!r}) found {found!r:.100}"
            assert await store.update(variant, data={"hijacked": True}) is False, (
                f"ids compared exactly: update({variant!r}) reported a match"
            )
            assert await store.delete(variant) is False, (
                f"ids compared exactly: delete({variant!r}) reported a match"
            )
        check_record("ids compared exactly: the record itself", await store.get(record.id), record)

    async def test_get_returns_expired_records(self, store: StoreT) -> None:
        """`get` and list_user return expired records too: expiry is the core's call, by its clock.

        A store that filtered by its own clock would disagree with the core's injected clock.
        """
        past = datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
        record = make_record(created_at=past - timedelta(hours=1), expires_at=past)
        await store.create(record)
        check_record("get returns expired records", await store.get(record.id), record)
        check_records(
            "list_user returns expired records", await store.list_user(record.user_id), [record]
        )

    async def test_delete_reports_whether_it_deleted(self, store: StoreT) -> None:
        """`delete` returns True when it removed the record, False when there was none.

        Logout relies on it; the other records stay.
        """
        record, other = make_record(), make_record()
        await store.create(record)
        await store.create(other)
        assert await store.delete(record.id) is True, "delete of a stored id must return True"
        assert await store.get(record.id) is None, "delete must remove the record"
        assert await store.delete(new_id()) is False, "delete of an unknown id must return False"
        check_record("delete must not touch other records", await store.get(other.id), other)

    async def test_deleting_twice_is_not_an_error(self, store: StoreT) -> None:
        """A second delete of the same id returns False without raising (logout twice is fine)."""
        record = make_record()
        await store.create(record)
        assert await store.delete(record.id) is True, "first delete must return True"
        assert await store.delete(record.id) is False, "second delete must return False"
        assert await store.get(record.id) is None, "the record must stay deleted"
