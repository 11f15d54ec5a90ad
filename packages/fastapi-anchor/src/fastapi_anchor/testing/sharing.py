"""Sharing: the store and its callers never share mutable data.

A route that edits `session.data` in place, or a caller that reuses the dict it passed to
`create`, must not change what is stored: only `update` does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from typing import Any

from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.compare import check_record
from fastapi_anchor.testing.records import make_record

__all__ = ["SharingRules"]


def _sample() -> dict[str, Any]:
    return {"top": 1, "list": [1, 2], "nested": {"key": "value", "deeper": {"list": ["a"]}}}


def _scribble(data: Mapping[str, Any]) -> None:
    """Change `data` in place everywhere it allows it (an immutable mapping is fine)."""
    for value in list(data.values()):
        if isinstance(value, list):
            value.append("scribbled")
        elif isinstance(value, Mapping):
            _scribble(value)
    if isinstance(data, MutableMapping):
        data["top"] = "scribbled"
        data["added"] = True


class SharingRules(SuiteBase[StoreT]):
    """Records handed out and data handed in are copies, not views of the stored state."""

    async def test_records_returned_are_not_shared_mutable_state(self, store: StoreT) -> None:
        """Changing the data of a record from get or list_user in place does not change the store.

        Routes get the record itself; editing it must not edit other requests' view of it.
        """
        record = make_record(data=_sample())
        await store.create(record)
        expected = SessionRecord(
            record.id, record.user_id, record.created_at, record.expires_at, _sample()
        )
        rule = "records returned are not shared mutable state"
        got = await store.get(record.id)
        assert got is not None, f"{rule}: the record is missing"
        _scribble(got.data)
        check_record(f"{rule} (after editing a get result)", await store.get(record.id), expected)
        for listed in await store.list_user(record.user_id):
            _scribble(listed.data)
        check_record(
            f"{rule} (after editing list_user results)", await store.get(record.id), expected
        )
        check_record(f"{rule} (as stored)", await self.read_stored(store, record.id), expected)

    async def test_data_given_to_create_and_update_is_copied(self, store: StoreT) -> None:
        """Changing a dict after passing it to create or update does not change the store.

        The store must copy (or serialise) what it is given, not keep the caller's object.
        """
        given = _sample()
        record = make_record(data=given)
        expected = SessionRecord(
            record.id, record.user_id, record.created_at, record.expires_at, copy.deepcopy(given)
        )
        await store.create(record)
        _scribble(given)
        rule = "data given to the store is copied"
        check_record(f"{rule} (create)", await store.get(record.id), expected)

        update = {"fresh": [1], "nested": {"key": "value"}}
        assert await store.update(record.id, data=update) is True
        expected = SessionRecord(
            record.id, record.user_id, record.created_at, record.expires_at, copy.deepcopy(update)
        )
        _scribble(update)
        check_record(f"{rule} (update)", await store.get(record.id), expected)
