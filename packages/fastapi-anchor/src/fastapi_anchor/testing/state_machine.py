"""A state machine: random operation sequences run on the store and on `MemoryStore` side by side.

Hypothesis draws a list of operations; the test replays it against the store under test and a
fresh `MemoryStore` (the reference), on the store's own event loop, and compares every result.
Ids and users are small pools, fresh for each example, so that operations collide often:
duplicates, updates after deletes, expiry exactly at the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from fastapi_anchor.memory import MemoryStore
from fastapi_anchor.store import SessionExists, SessionRecord, SessionStore
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import record_difference
from fastapi_anchor.testing.records import T0, new_id, new_user
from fastapi_anchor.testing.settings import suite_settings
from fastapi_anchor.testing.strategies import ZONES

__all__ = ["Operation", "StateMachineRules", "operations"]

SLOTS = 3
"""Session ids per example: few, so that operations meet on the same ids."""
USERS = 2
"""User ids per example."""


def _at(micros: int) -> datetime:
    return T0 + timedelta(microseconds=micros)


def _when(micros: int) -> str:
    return f"T{micros / 1_000_000:+.6f}s"


@dataclass(frozen=True)
class Create:
    slot: int
    user: int
    created: int
    expires: int
    data: dict[str, Any]

    def __str__(self) -> str:
        return (
            f"create(s{self.slot}, user=u{self.user}, created={_when(self.created)}, "
            f"expires={_when(self.expires)}, data={self.data!r:.60})"
        )


@dataclass(frozen=True)
class Get:
    slot: int

    def __str__(self) -> str:
        return f"get(s{self.slot})"


@dataclass(frozen=True)
class Update:
    slot: int
    expires: int | None
    zone: int
    data: dict[str, Any] | None

    def __str__(self) -> str:
        expires = "-" if self.expires is None else f"{_when(self.expires)} in {ZONES[self.zone]}"
        return f"update(s{self.slot}, expires_at={expires}, data={self.data!r:.60})"


@dataclass(frozen=True)
class Delete:
    slot: int

    def __str__(self) -> str:
        return f"delete(s{self.slot})"


@dataclass(frozen=True)
class DeleteUser:
    user: int

    def __str__(self) -> str:
        return f"delete_user(u{self.user})"


@dataclass(frozen=True)
class ListUser:
    user: int

    def __str__(self) -> str:
        return f"list_user(u{self.user})"


@dataclass(frozen=True)
class DeleteExpired:
    now: int
    limit: int

    def __str__(self) -> str:
        return f"delete_expired(now={_when(self.now)}, limit={self.limit})"


Operation = Create | Get | Update | Delete | DeleteUser | ListUser | DeleteExpired

# Instants cluster on whole seconds so that expiry boundaries are hit exactly, with a few
# microseconds either side.
_instants = st.integers(-3, 3).map(lambda s: s * 1_000_000) | st.integers(-3_000_001, 3_000_001)
_slots = st.integers(0, SLOTS - 1)
_users = st.integers(0, USERS - 1)
# Small objects: the random record round trip covers JSON at large; here data tells states apart.
_data = st.dictionaries(st.sampled_from(["a", "b", "ü"]), st.integers(0, 2) | st.floats(0, 2))

operations: st.SearchStrategy[list[Operation]] = st.lists(
    st.one_of(
        st.builds(Create, _slots, _users, _instants, _instants, _data),
        st.builds(Get, _slots),
        st.builds(
            Update,
            _slots,
            st.none() | _instants,
            st.integers(0, len(ZONES) - 1),
            st.none() | _data,
        ),
        st.builds(Delete, _slots),
        st.builds(DeleteUser, _users),
        st.builds(ListUser, _users),
        st.builds(DeleteExpired, _instants, st.integers(1, 4)),
    ),
    min_size=3,
    max_size=40,
)
"""Sequences of store operations on small pools of ids and users."""


SECOND = 1_000_000

KNOWN_TRAPS: list[list[Operation]] = [
    # A duplicate create, then whose record is stored.
    [Create(0, 0, 0, SECOND, {"a": 1}), Create(0, 1, SECOND, 2 * SECOND, {"b": 2}), ListUser(1)],
    # A refresh after logout, in another time zone.
    [Create(0, 0, 0, SECOND, {}), Delete(0), Update(0, 2 * SECOND, 1, {"a": 1}), ListUser(0)],
    # Expiry exactly at `now`, a microsecond after it, and a batch limit.
    [
        Create(0, 0, 0, 0, {}),
        Create(1, 0, 0, 1, {}),
        Create(2, 1, 0, -1, {}),
        DeleteExpired(0, 1),
        DeleteExpired(0, 4),
        ListUser(0),
    ],
    # Partial updates: a float that looks integral, a zone, an empty object, a merge.
    [
        Create(0, 0, 0, SECOND, {"a": 1.0, "b": 2}),
        Update(0, None, 0, {"b": 0}),
        Update(1, 3 * SECOND, 3, None),
        Update(0, 3 * SECOND + 1, 4, {}),
        Get(0),
        DeleteUser(0),
        DeleteUser(0),
    ],
]
"""Sequences every run tries first, whatever Hypothesis draws after them."""


class _Pools:
    """The ids and users of one example, fresh so that examples sharing a store never collide."""

    def __init__(self) -> None:
        self.ids = [new_id() for _ in range(SLOTS)]
        self.users = [new_user(f"sm{n}") for n in range(USERS)]


def _outcome(value: Any) -> Any:
    """A comparable form of a scalar result or an error: `True` and `1` differ."""
    if isinstance(value, Exception):
        return ("raised", type(value).__name__)
    if isinstance(value, SessionRecord):
        return ("record", value.id)
    return (type(value).__name__, value)


async def _call(store: SessionStore, op: Operation, pools: _Pools) -> Any:
    try:
        if isinstance(op, Create):
            record = SessionRecord(
                pools.ids[op.slot], pools.users[op.user], _at(op.created), _at(op.expires), op.data
            )
            return await store.create(record)
        if isinstance(op, Get):
            return await store.get(pools.ids[op.slot])
        if isinstance(op, Update):
            expires_at = None if op.expires is None else _at(op.expires).astimezone(ZONES[op.zone])
            return await store.update(pools.ids[op.slot], expires_at=expires_at, data=op.data)
        if isinstance(op, Delete):
            return await store.delete(pools.ids[op.slot])
        if isinstance(op, DeleteUser):
            return await store.delete_user(pools.users[op.user])
        if isinstance(op, ListUser):
            return await store.list_user(pools.users[op.user])
        return await store.delete_expired(_at(op.now), op.limit)
    except (SessionExists, ValueError) as exc:
        return exc


def _differ(got: Any, want: Any) -> str | None:
    """Describe how the store's result differs from the reference's, or return None."""
    if isinstance(want, SessionRecord):
        return record_difference(want, got)
    if isinstance(want, list):
        if not isinstance(got, list):
            return f"expected a list, got {got!r:.80}"
        got_sorted = sorted(got, key=lambda r: getattr(r, "id", ""))
        want_sorted = sorted(want, key=lambda r: r.id)
        if [_outcome(r) for r in got_sorted] != [_outcome(r) for r in want_sorted]:
            return f"listed {len(got)} records, expected {len(want)}"
        for g, w in zip(got_sorted, want_sorted, strict=True):
            diff = record_difference(w, g)
            if diff:
                return diff
        return None
    if _outcome(got) != _outcome(want):
        return f"returned {got!r:.80}, MemoryStore returned {want!r:.80}"
    return None


def _known_traps(
    test: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    for ops in reversed(KNOWN_TRAPS):
        test = example(ops=ops)(test)
    return test


class StateMachineRules(SuiteBase[StoreT]):
    """The store behaves like `MemoryStore`, the reference, under any sequence of operations."""

    async def _sync_after_expiry(
        self, store: StoreT, model: MemoryStore, op: DeleteExpired, got: Any, pools: _Pools
    ) -> str | None:
        """Check a delete_expired and make the reference drop the rows the store dropped.

        With a limit, which expired rows go is the store's choice; only the count is fixed.
        """
        now = _at(op.now)
        expired = [
            r for i in pools.ids if (r := await model.get(i)) is not None and r.expires_at <= now
        ]
        want = min(op.limit, len(expired))
        if got != want or type(got) is not int:
            return f"returned {got!r}, expected {want} ({len(expired)} expired, limit {op.limit})"
        dropped = 0
        for record in expired:
            if await self.read_stored(store, record.id) is None:
                await model.delete(record.id)
                dropped += 1
        if dropped != got:
            return f"reported {got} removed rows, but {dropped} expired rows are gone"
        return None

    @suite_settings
    @given(ops=operations)
    @_known_traps
    async def test_behaves_like_memory_store_under_random_operations(
        self, store: StoreT, ops: Sequence[Operation]
    ) -> None:
        """Random sequences of every operation give the same results as on MemoryStore.

        This is the contract as a whole: each rule above, in combinations nobody wrote down.
        """
        pools = _Pools()
        model = MemoryStore()
        log: list[str] = []
        try:
            for op in ops:
                log.append(f"  {len(log):2}. {op}")
                got = await _call(store, op, pools)
                if isinstance(op, DeleteExpired):
                    diff = await self._sync_after_expiry(store, model, op, got, pools)
                else:
                    diff = _differ(got, await _call(model, op, pools))
                assert diff is None, self._report(log, diff)
            for index, session_id in enumerate(pools.ids):
                log.append(f"  end: get(s{index})")
                diff = _differ(await store.get(session_id), await model.get(session_id))
                assert diff is None, self._report(log, diff)
        finally:
            for session_id in pools.ids:
                await store.delete(session_id)

    @staticmethod
    def _report(log: list[str], diff: str | None) -> str:
        steps = "\n".join(log)
        return (
            f"store differs from MemoryStore at step {log[-1].strip()!r}: {diff}\n"
            f"steps (s = session id, u = user, T = {T0.isoformat()}):\n{steps}"
        )
