"""Updates: change only what is given, of that record only, and never bring a record back."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import check_raises, check_record, check_records
from fastapi_anchor.testing.records import NESTED_DATA, T0, make_record, new_id

__all__ = ["UpdateRules"]

LATER = T0 + timedelta(days=3, microseconds=7)


class UpdateRules(SuiteBase[StoreT]):
    """`update` is an UPDATE: it reports whether the record exists and never inserts one."""

    async def test_update_changes_only_the_given_fields(self, store: StoreT) -> None:
        """`update`(expires_at=) keeps data; update(data=) keeps expires_at; both keep the rest.

        Sliding refresh passes only expires_at: it must not reset the data, and a data change
        must not extend the session.
        """
        record = make_record(data={"cart": [1, 2], "theme": "dark"})
        await store.create(record)

        assert await store.update(record.id, expires_at=LATER) is True, "update must return True"
        record = replace(record, expires_at=LATER)
        check_record(
            "update(expires_at=) changes only expires_at", await store.get(record.id), record
        )

        assert await store.update(record.id, data={"cart": []}) is True, "update must return True"
        record = replace(record, data={"cart": []})
        check_record("update(data=) changes only data", await store.get(record.id), record)

        both = LATER + timedelta(hours=1)
        assert await store.update(record.id, expires_at=both, data=NESTED_DATA) is True
        record = replace(record, expires_at=both, data=NESTED_DATA)
        check_record("update of both fields", await store.get(record.id), record)

    async def test_update_replaces_data_as_a_whole(self, store: StoreT) -> None:
        """`update`(data=) stores exactly the object given: no merge with the old keys.

        An empty object is a value too: update(data={}) clears the data, it is not ignored.
        """
        record = make_record(data={"old": 1, "nested": {"keep": False}})
        await store.create(record)
        assert await store.update(record.id, data={"nested": {"new": True}}) is True
        record = replace(record, data={"nested": {"new": True}})
        check_record("update(data=) replaces, not merges", await store.get(record.id), record)
        assert await store.update(record.id, data={}) is True
        record = replace(record, data={})
        check_record("update(data={}) clears the data", await store.get(record.id), record)

    async def test_update_returns_true_when_values_are_unchanged(self, store: StoreT) -> None:
        """`update` of an existing record returns True even if nothing changes.

        "Rows changed" counts (MySQL's default) report 0 there: the core would take the
        session for gone.
        """
        record = make_record(data={"same": True})
        await store.create(record)
        for _ in range(2):
            updated = await store.update(record.id, expires_at=record.expires_at, data=record.data)
            assert updated is True, "update with the stored values must still return True"
        check_record("update with the stored values", await store.get(record.id), record)

    async def test_update_with_no_field_reports_existence(self, store: StoreT) -> None:
        """`update` with neither field changes nothing and returns whether the record exists."""
        record = make_record(data={"a": 1})
        await store.create(record)
        assert await store.update(record.id) is True, "update() of a stored id must return True"
        assert await store.update(new_id()) is False, "update() of an unknown id must be False"
        check_record("update() with no field", await store.get(record.id), record)

    async def test_update_changes_only_that_session(self, store: StoreT) -> None:
        """`update` touches the record with that id and no other, not even the same user's."""
        record = make_record()
        sibling = make_record(record.user_id, data={"sibling": True})
        stranger = make_record(data={"stranger": True})
        for each in (record, sibling, stranger):
            await store.create(each)
        assert await store.update(record.id, expires_at=LATER, data={"changed": 1}) is True
        check_record("update must not touch other sessions", await store.get(sibling.id), sibling)
        check_record("update must not touch other users", await store.get(stranger.id), stranger)

    async def test_update_of_unknown_id_returns_false_and_creates_nothing(
        self, store: StoreT
    ) -> None:
        """`update` of an id never stored returns False and inserts nothing (no upsert).

        An upsert would let anyone mint a session by refreshing an id of their choice.
        """
        ghost = new_id()
        assert await store.update(ghost, expires_at=LATER) is False, (
            "update of an unknown id must return False"
        )
        assert await store.update(ghost, data={"x": 1}) is False, (
            "update of an unknown id must return False"
        )
        assert await self.read_stored(store, ghost) is None, "update must never create a record"

    async def test_update_after_delete_does_not_resurrect(self, store: StoreT) -> None:
        """`update` of a deleted id returns False and leaves nothing behind (no resurrection).

        A refresh that lands after logout (delete, delete_user or delete_expired) must not bring
        the session back.
        """
        by_delete, by_user, by_expiry = make_record(), make_record(), make_record()
        for each in (by_delete, by_user, by_expiry):
            await store.create(each)
        assert await store.delete(by_delete.id) is True
        assert await store.delete_user(by_user.user_id) == 1
        assert await store.delete_expired(by_expiry.expires_at) == 1
        for how, record in (
            ("delete", by_delete),
            ("delete_user", by_user),
            ("delete_expired", by_expiry),
        ):
            rule = f"no resurrection after {how}"
            assert await store.update(record.id, expires_at=LATER) is False, (
                f"{rule}: update(expires_at=) must return False"
            )
            assert await store.update(record.id, data={"late": True}) is False, (
                f"{rule}: update(data=) must return False"
            )
            assert await self.read_stored(store, record.id) is None, f"{rule}: record is back"
            check_records(f"{rule} (list_user)", await store.list_user(record.user_id), [])

    async def test_update_refuses_naive_expires_at(self, store: StoreT) -> None:
        """`update`(expires_at=<naive datetime>) raises ValueError and changes nothing.

        A naive datetime has no instant: storing it as local or UTC time would be a guess.
        """
        record = make_record()
        await store.create(record)
        naive = datetime(2031, 1, 1, 12, 0, 0)  # naive on purpose
        await check_raises(
            "update refuses a naive expires_at",
            ValueError,
            store.update(record.id, expires_at=naive),
        )
        check_record("a refused update changes nothing", await store.get(record.id), record)
