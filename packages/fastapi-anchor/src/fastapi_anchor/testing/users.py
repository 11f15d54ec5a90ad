"""Users: list_user and delete_user act on all of one user's sessions and on nobody else's."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import check_record, check_records
from fastapi_anchor.testing.records import make_record, new_user

__all__ = ["UserRules"]

PAST = datetime(2002, 3, 4, 5, 6, 7, 8, tzinfo=timezone.utc)


def _neighbours(user_id: str) -> list[str]:
    """User ids a loose comparison (case, trim, prefix) would confuse with `user_id`."""
    return [user_id.upper(), user_id + " ", " " + user_id, user_id[:-1], user_id + "x"]


def _patterns(user_id: str) -> list[str]:
    """LIKE patterns that match `user_id` but are nobody's id."""
    return [user_id[:-1] + "%", user_id[:-1] + "_", "%"]


class UserRules(SuiteBase[StoreT]):
    """A user's sessions are exactly those created with that user id."""

    async def _populate(
        self, store: StoreT
    ) -> tuple[str, list[SessionRecord], dict[str, list[SessionRecord]]]:
        user = new_user("Ünïcode")
        own = [
            make_record(user, data={"n": 1}),
            make_record(user, data={"n": 2}),
            make_record(user, created_at=PAST, expires_at=PAST, data={"expired": True}),
        ]
        others = {name: [make_record(name, data={"of": name})] for name in _neighbours(user)}
        for record in [*own, *(r for records in others.values() for r in records)]:
            await store.create(record)
        return user, own, others

    async def test_list_user_returns_all_and_only_that_users_sessions(self, store: StoreT) -> None:
        """list_user returns every session of the user, expired ones too, and no other user's.

        Users whose ids differ only by case, a space or a suffix are other users.
        """
        user, own, others = await self._populate(store)
        check_records("list_user returns all and only the user's", await store.list_user(user), own)
        for name, records in others.items():
            check_records(
                f"list_user({name!r}) returns only that exact user's",
                await store.list_user(name),
                records,
            )
        for pattern in _patterns(user):
            check_records(
                f"list_user({pattern!r}) must not match as a pattern",
                await store.list_user(pattern),
                [],
            )

    async def test_list_user_of_unknown_user_is_empty(self, store: StoreT) -> None:
        """list_user of a user without sessions returns an empty list."""
        await store.create(make_record())
        check_records("list_user of an unknown user", await store.list_user(new_user()), [])

    async def test_delete_user_removes_all_and_only_that_users_sessions(
        self, store: StoreT
    ) -> None:
        """`delete_user` removes every session of the user, returns how many, and no other's.

        It is "log out everywhere": a session left behind stays logged in; one removed from a
        neighbouring user id logs out a stranger.
        """
        user, own, others = await self._populate(store)
        for pattern in _patterns(user):
            assert await store.delete_user(pattern) == 0, (
                f"delete_user({pattern!r}) must not match as a pattern"
            )
        count = await store.delete_user(user)
        assert count == len(own), f"delete_user must return {len(own)}, got {count!r}"
        for record in own:
            assert await store.get(record.id) is None, "delete_user left a session behind"
        check_records("delete_user empties list_user", await store.list_user(user), [])
        for name, records in others.items():
            for record in records:
                check_record(
                    f"delete_user must not touch user {name!r}", await store.get(record.id), record
                )

    async def test_delete_user_of_unknown_user_returns_zero(self, store: StoreT) -> None:
        """`delete_user` of a user without sessions returns 0, also when called twice."""
        record = make_record()
        await store.create(record)
        assert await store.delete_user(new_user()) == 0, "delete_user of an unknown user"
        assert await store.delete_user(record.user_id) == 1
        assert await store.delete_user(record.user_id) == 0, "delete_user twice must return 0"
