"""Concurrency: calls racing on the event loop leave the store as each call reported.

The core serves many requests at once on one store: logins, reads, refreshes and logouts of
the same sessions interleave. Every rule here runs its calls concurrently in one task group.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Any

from fastapi_anchor.store import SessionExists, SessionRecord
from fastapi_anchor.testing.base import Outcome, StoreT, SuiteBase, gather
from fastapi_anchor.testing.compare import check_record, check_records, record_difference
from fastapi_anchor.testing.records import T0, make_record, new_id, new_user

__all__ = ["ConcurrencyRules"]

Call = Callable[[], Awaitable[Any]]


def _no_errors(rule: str, outcomes: list[Outcome]) -> None:
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, f"{rule}: {len(errors)} call(s) raised, first: {errors[0]!r}"


class ConcurrencyRules(SuiteBase[StoreT]):
    """Concurrent creates, gets, updates and deletes are each atomic and truthfully reported."""

    async def test_concurrent_creates_all_land(self, store: StoreT) -> None:
        """Many concurrent creates (one user, and several users) all succeed and are all stored."""
        user = new_user()
        records = [make_record(user, data={"n": n}) for n in range(self.concurrency)]
        records += [make_record(data={"n": n}) for n in range(self.concurrency)]
        outcomes = await gather([partial(store.create, r) for r in records])
        _no_errors("concurrent creates", outcomes)
        mine = [r for r in records if r.user_id == user]
        check_records("concurrent creates all land", await store.list_user(user), mine)
        for record in records:
            check_record("concurrent creates all land", await store.get(record.id), record)

    async def test_concurrent_creates_of_one_id_admit_exactly_one(self, store: StoreT) -> None:
        """Concurrent creates of one id: exactly one succeeds, the others raise SessionExists.

        A check-then-insert with an await in between lets two callers both "win", the second
        silently overwriting the first.
        """
        session_id = new_id()
        candidates = [
            make_record(new_user(f"racer{n}"), id=session_id, data={"racer": n})
            for n in range(self.concurrency)
        ]
        outcomes = await gather([partial(store.create, r) for r in candidates])
        rule = "concurrent creates of one id admit exactly one"
        winners = [r for r, o in zip(candidates, outcomes, strict=True) if o is None]
        others = [o for o in outcomes if o is not None and not isinstance(o, SessionExists)]
        assert not others, f"{rule}: a create raised {others[0]!r} instead of SessionExists"
        assert len(winners) == 1, f"{rule}: {len(winners)} creates succeeded"
        check_record(f"{rule}: the winner is stored", await store.get(session_id), winners[0])
        for loser in candidates:
            if loser is not winners[0]:
                check_records(
                    f"{rule}: a loser's user has no session",
                    await store.list_user(loser.user_id),
                    [],
                )

    async def test_concurrent_deletes_of_one_id_report_exactly_one(self, store: StoreT) -> None:
        """Concurrent deletes of one id: exactly one returns True (one logout ends the session)."""
        records = [make_record() for _ in range(max(1, self.concurrency // 3))]
        for record in records:
            await store.create(record)
        targets = [record for _ in range(3) for record in records]
        outcomes = await gather([partial(store.delete, r.id) for r in targets])
        rule = "concurrent deletes of one id report exactly one"
        _no_errors(rule, outcomes)
        for record in records:
            reports = [o for r, o in zip(targets, outcomes, strict=True) if r is record]
            assert reports.count(True) == 1, f"{rule}: {reports.count(True)} of 3 returned True"
            assert await store.get(record.id) is None, f"{rule}: the record is still there"

    async def test_concurrent_updates_and_deletes_never_resurrect(self, store: StoreT) -> None:
        """Updates racing a delete never bring the record back, whichever runs first.

        A sliding refresh in flight while the user logs out must not undo the logout.
        """
        user = new_user()
        records = [make_record(user) for _ in range(max(1, self.concurrency // 4))]
        for record in records:
            await store.create(record)
        later = T0 + timedelta(days=1)
        calls: list[Call] = []
        for record in records:
            calls += [
                partial(store.update, record.id, expires_at=later),
                partial(store.update, record.id, data={"late": True}),
                partial(store.delete, record.id),
                partial(store.update, record.id, expires_at=later, data={"later": True}),
                partial(store.update, record.id, data={"latest": True}),
            ]
        outcomes = await gather(calls)
        rule = "no resurrection when update and delete race"
        _no_errors(rule, outcomes)
        assert all(isinstance(o, bool) for o in outcomes), f"{rule}: non-bool result {outcomes}"
        assert outcomes[2::5] == [True] * len(records), f"{rule}: a delete did not return True"
        for record in records:
            found = await self.read_stored(store, record.id)
            assert found is None, f"{rule}: the record is back: {found!r:.120}"
        check_records(f"{rule} (list_user)", await store.list_user(user), [])

    async def test_concurrent_mixed_operations_match_what_each_call_reported(
        self, store: StoreT
    ) -> None:
        """Racing calls of every kind each report a possible outcome; the store ends as reported.

        Creates, duplicate creates, gets, updates, deletes and a delete_user run at once.
        """
        n = max(2, self.concurrency // 4)
        kept = [make_record(data={"v": "original"}) for _ in range(n)]
        doomed = [make_record(data={"v": "original"}) for _ in range(n)]
        for record in [*kept, *doomed]:
            await store.create(record)
        fresh = [make_record() for _ in range(n)]
        victim = new_user("victim")
        victim_records = [make_record(victim, data={"n": i}) for i in range(n)]
        values: list[dict[str, Any]] = [{"v": i} for i in range(3)]

        calls: list[tuple[str, SessionRecord, Call]] = []
        for record in [*fresh, *victim_records]:
            calls.append(("create", record, partial(store.create, record)))
        for record in kept:  # only ids nobody deletes: a freed id may be created again
            dup = replace(record, user_id=new_user("dup"), data={"v": "dup"})
            calls.append(("duplicate", record, partial(store.create, dup)))
        for record in [*kept, *doomed]:
            calls.append(("get", record, partial(store.get, record.id)))
            for value in values:
                calls.append(("update", record, partial(store.update, record.id, data=value)))
        for record in doomed:
            calls += [("delete", record, partial(store.delete, record.id))] * 2
        calls.insert(len(calls) // 2, ("delete_user", kept[0], partial(store.delete_user, victim)))
        outcomes = await gather([call for _, _, call in calls])

        rule = "concurrent mixed operations"
        live = {record.id for record in kept}
        states = [{"v": "original"}, *values]
        for (kind, record, _), outcome in zip(calls, outcomes, strict=True):
            assert kind == "duplicate" or not isinstance(outcome, Exception), (
                f"{rule}: {kind} raised {outcome!r}"
            )
            if kind == "duplicate":
                assert isinstance(outcome, SessionExists), (
                    f"{rule}: a duplicate create returned {outcome!r:.80}, not SessionExists"
                )
            elif kind == "create":
                assert outcome is None, f"{rule}: create returned {outcome!r:.80}"
            elif kind == "get" and (outcome is not None or record.id in live):
                assert any(
                    record_difference(replace(record, data=v), outcome) is None for v in states
                ), f"{rule}: get saw a state no call wrote: {outcome!r:.120}"
            elif kind == "update":
                assert isinstance(outcome, bool), f"{rule}: update returned {outcome!r:.80}"
                assert outcome or record.id not in live, (
                    f"{rule}: update of a record nobody deleted returned False"
                )
        for record in kept:
            found = await store.get(record.id)
            assert found is not None, f"{rule}: a record nobody deleted is gone"
            assert any(record_difference(replace(record, data=v), found) is None for v in values), (
                f"{rule}: final data {found.data!r:.80} is none of the updates {values}"
            )
        for record in doomed:
            found = await self.read_stored(store, record.id)
            assert found is None, f"{rule}: a deleted record is back: {found!r:.120}"
            reports = [
                o
                for (k, r, _), o in zip(calls, outcomes, strict=True)
                if k == "delete" and r is record
            ]
            assert reports.count(True) == 1, f"{rule}: {reports.count(True)} deletes returned True"
        for record in fresh:
            check_record(f"{rule}: a created record", await store.get(record.id), record)
        deleted = next(
            o for (k, _, _), o in zip(calls, outcomes, strict=True) if k == "delete_user"
        )
        remaining = await store.list_user(victim)
        assert deleted + len(remaining) == len(victim_records), (
            f"{rule}: delete_user reported {deleted!r}, {len(remaining)} remain, "
            f"{len(victim_records)} were created"
        )
        survivors = {record.id for record in remaining}
        check_records(
            f"{rule}: the survivors of delete_user",
            remaining,
            [r for r in victim_records if r.id in survivors],
        )
