"""The conformance suite has teeth: each deliberately broken store fails it, naming its rule.

Every broken store wraps `MemoryStore` and breaks one rule. One pytest subprocess runs the
suite on each of them (a generated test file with one subclass per store, as a third party
would write it); each case then asserts that the rule's own test failed with a message naming
the rule. MemoryStore and a correctly failing "service down" store pass through the same run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest

from fastapi_anchor.memory import MemoryStore
from fastapi_anchor.store import SessionExists, SessionRecord, StoreUnavailable, TableMissing
from fastapi_anchor.toolkit import check_expiry_args


class OverwritingStore(MemoryStore):
    """Breaks "duplicate id raises SessionExists": a second create silently replaces the first."""

    async def create(self, record: SessionRecord) -> None:
        await self.delete(record.id)
        await super().create(record)


class CheckThenInsertStore(MemoryStore):
    """Breaks atomic create: it checks for the id, yields to the loop, then writes."""

    async def create(self, record: SessionRecord) -> None:
        if await self.get(record.id) is not None:
            raise SessionExists(record.id)
        await anyio.lowlevel.checkpoint()
        await self.delete(record.id)
        await super().create(record)


class ResurrectingStore(MemoryStore):
    """Breaks "update never inserts": an update after delete brings the session back."""

    def __init__(self) -> None:
        super().__init__()
        self.graveyard: dict[str, SessionRecord] = {}

    async def delete(self, session_id: str) -> bool:
        record = await self.get(session_id)
        if record is not None:
            self.graveyard[session_id] = record
        return await super().delete(session_id)

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        if await super().update(session_id, expires_at=expires_at, data=data):
            return True
        dead = self.graveyard.get(session_id)
        if dead is None:
            return False
        await super().create(
            replace(
                dead,
                expires_at=expires_at or dead.expires_at,
                data=dead.data if data is None else data,
            )
        )
        return True


class MicrosecondDroppingStore(MemoryStore):
    """Breaks "microseconds kept": timestamps are cut to whole seconds."""

    async def create(self, record: SessionRecord) -> None:
        await super().create(
            replace(
                record,
                created_at=record.created_at.replace(microsecond=0),
                expires_at=record.expires_at.replace(microsecond=0),
            )
        )

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        if expires_at is not None:
            expires_at = expires_at.replace(microsecond=0)
        return await super().update(session_id, expires_at=expires_at, data=data)


class TimeZoneDroppingStore(MemoryStore):
    """Breaks "same instant in any zone": it keeps the wall clock and calls it UTC."""

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        if expires_at is not None:
            expires_at = expires_at.replace(tzinfo=timezone.utc)
        return await super().update(session_id, expires_at=expires_at, data=data)

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        if now.tzinfo is not None:
            now = now.replace(tzinfo=timezone.utc)
        return await super().delete_expired(now, limit)


class NaiveAcceptingStore(MemoryStore):
    """Breaks "naive datetimes refused": a naive expires_at is taken for UTC."""

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        if expires_at is not None and expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=timezone.utc)
        return await super().update(session_id, expires_at=expires_at, data=data)


class LeakyUserStore(MemoryStore):
    """Breaks user isolation: user ids match case-insensitively, trimmed, by prefix."""

    def __init__(self) -> None:
        super().__init__()
        self.users: set[str] = set()

    async def create(self, record: SessionRecord) -> None:
        await super().create(record)
        self.users.add(record.user_id)

    def _matching(self, user_id: str) -> list[str]:
        key = user_id.strip().casefold()
        return [u for u in self.users if u.strip().casefold().startswith(key)]

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        found: list[SessionRecord] = []
        for user in self._matching(user_id):
            found += await super().list_user(user)
        return found

    async def delete_user(self, user_id: str) -> int:
        count = 0
        for user in self._matching(user_id):
            count += await super().delete_user(user)
        return count


class LooseIdStore(MemoryStore):
    """Breaks exact ids: ids are trimmed and lower-cased before the lookup."""

    async def get(self, session_id: str) -> SessionRecord | None:
        return await super().get(session_id.strip().lower())

    async def update(self, session_id: str, **fields: Any) -> bool:
        return await super().update(session_id.strip().lower(), **fields)

    async def delete(self, session_id: str) -> bool:
        return await super().delete(session_id.strip().lower())


class ExpiryOffByOneStore(MemoryStore):
    """Breaks the expiry boundary: a row expiring exactly at `now` is kept (< instead of <=)."""

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        return await super().delete_expired(now - timedelta(microseconds=1), limit)


class LimitIgnoringStore(MemoryStore):
    """Breaks batching: delete_expired removes every expired row whatever the limit."""

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        return await super().delete_expired(now, max(limit, 1_000_000))


class ExpiredHidingStore(MemoryStore):
    """Breaks "get returns expired rows": it filters by its own wall clock."""

    async def get(self, session_id: str) -> SessionRecord | None:
        record = await super().get(session_id)
        if record is not None and record.expires_at <= datetime.now(timezone.utc):
            return None
        return record


class SharedMutableStore(MemoryStore):
    """Breaks "no shared mutable state": it keeps and hands out the caller's data dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, Mapping[str, Any]] = {}

    async def create(self, record: SessionRecord) -> None:
        await super().create(record)
        self.live[record.id] = record.data

    async def get(self, session_id: str) -> SessionRecord | None:
        record = await super().get(session_id)
        return None if record is None else replace(record, data=self.live[session_id])

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        return [replace(r, data=self.live[r.id]) for r in await super().list_user(user_id)]

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        updated = await super().update(session_id, expires_at=expires_at, data=data)
        if updated and data is not None:
            self.live[session_id] = data
        return updated


def _integral_floats_to_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_to_int(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral_floats_to_int(v) for k, v in value.items()}
    return value


class NumberLosingStore(MemoryStore):
    """Breaks "int vs float kept": 1.0 comes back as 1 (as a careless numeric column does)."""

    async def get(self, session_id: str) -> SessionRecord | None:
        record = await super().get(session_id)
        return (
            None if record is None else replace(record, data=_integral_floats_to_int(record.data))
        )


class UnicodeNormalisingStore(MemoryStore):
    """Breaks "every code point kept": user ids and text data are NFC-normalised."""

    async def create(self, record: SessionRecord) -> None:
        data = {unicodedata.normalize("NFC", k): v for k, v in record.data.items()}
        await super().create(
            replace(record, user_id=unicodedata.normalize("NFC", record.user_id), data=data)
        )


class MergingUpdateStore(MemoryStore):
    """Breaks "update replaces data": new keys are merged into the old object."""

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        old = await self.get(session_id)
        if old is not None and data is not None:
            data = {**old.data, **data}
        return await super().update(session_id, expires_at=expires_at, data=data)


class FalsyDataStore(MemoryStore):
    """Breaks "update(data={}) clears the data": an empty object is taken for "not given"."""

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        return await super().update(session_id, expires_at=expires_at, data=data or None)


class RefreshOnWriteStore(MemoryStore):
    """Breaks "update changes only what it is given": a data change also extends the session."""

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        old = await self.get(session_id)
        if old is not None and expires_at is None:
            expires_at = old.expires_at + timedelta(minutes=30)
        return await super().update(session_id, expires_at=expires_at, data=data)


class RowCountUpdateStore(MemoryStore):
    """Breaks "update is True when the row exists": it reports rows changed, like MySQL."""

    async def update(self, session_id: str, *, expires_at: Any = None, data: Any = None) -> bool:
        old = await self.get(session_id)
        updated = await super().update(session_id, expires_at=expires_at, data=data)
        return updated and old != await self.get(session_id)


class DeleteAlwaysTrueStore(MemoryStore):
    """Breaks "delete reports whether it deleted": it always says True."""

    async def delete(self, session_id: str) -> bool:
        await super().delete(session_id)
        return True


class CountOffByOneStore(MemoryStore):
    """Breaks the optional count_expired: a row expiring exactly at `now` is not counted."""

    async def count_expired(self, now: datetime) -> int:
        check_expiry_args(now, 1)
        return await super().count_expired(now - timedelta(microseconds=1))


class DeviceForgettingStore(MemoryStore):
    """Breaks "device fields round-trip": the address, agent and cookie kind are not kept."""

    async def create(self, record: SessionRecord) -> None:
        await super().create(replace(record, ip_address=None, user_agent=None, persistent=True))


class CreatedAtMovingStore(MemoryStore):
    """Breaks "created_at never moves": re-authentication also resets the login time."""

    async def update(
        self, session_id: str, *, authenticated_at: Any = None, **changes: Any
    ) -> bool:
        old = await self.get(session_id)
        if old is None or authenticated_at is None:
            return await super().update(session_id, authenticated_at=authenticated_at, **changes)
        await super().delete(session_id)
        await super().create(replace(old, created_at=authenticated_at))
        return await super().update(session_id, authenticated_at=authenticated_at, **changes)


class KeepIgnoringStore(MemoryStore):
    """Breaks `delete_user(keep=)`: the session to keep is removed with the others."""

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        return await super().delete_user(user_id)


class FailingStore(MemoryStore):
    """Every method raises `failure`: a store whose service is down or whose table is missing."""

    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure = failure

    async def create(self, record: SessionRecord) -> None:
        raise self.failure

    async def get(self, session_id: str) -> SessionRecord | None:
        raise self.failure

    async def update(self, session_id: str, **fields: Any) -> bool:
        raise self.failure

    async def delete(self, session_id: str) -> bool:
        raise self.failure

    async def delete_user(self, user_id: str) -> int:
        raise self.failure

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        raise self.failure

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        raise self.failure


def down() -> FailingStore:
    return FailingStore(StoreUnavailable("connection refused"))


def no_table() -> FailingStore:
    return FailingStore(TableMissing('relation "anchor_sessions" does not exist'))


def leaks_driver_error() -> FailingStore:
    """Breaks "errors surface as StoreUnavailable": the driver's own error escapes."""
    return FailingStore(ConnectionRefusedError(111, "Connection refused"))


def hides_missing_table() -> FailingStore:
    """Breaks "a missing table is TableMissing": it is reported as a plain StoreUnavailable."""
    return FailingStore(StoreUnavailable('relation "anchor_sessions" does not exist'))


@dataclass(frozen=True)
class Case:
    """One subclass of the suite in the generated file, and what must happen to it."""

    store: str
    """Expression building the store from this module (imported as `broken`)."""
    failing: dict[str, str] = field(default_factory=dict)
    """Tests that must fail, each with a fragment its failure message must contain."""
    passing: tuple[str, ...] = ()
    """Tests that must pass (not be skipped)."""
    unavailable: str | None = None
    without_table: str | None = None


SM_TEST = "test_behaves_like_memory_store_under_random_operations"
SM_FAILURE = "store differs from MemoryStore"

CONTROLS = {
    "memory-store": Case(
        "MemoryStore()", passing=("test_count_expired_counts_rows_expiring_at_or_before_now",)
    ),
    "reports-outages": Case(
        "MemoryStore()",
        unavailable="down()",
        without_table="no_table()",
        passing=(
            "test_every_method_raises_store_unavailable_when_the_service_is_down",
            "test_every_method_raises_table_missing_when_the_table_does_not_exist",
        ),
    ),
}

BROKEN = {
    "overwrites-duplicates": Case(
        "OverwritingStore()",
        {
            "test_duplicate_id_raises_session_exists": "duplicate id on create: did not raise",
            SM_TEST: SM_FAILURE,
        },
    ),
    "check-then-insert": Case(
        "CheckThenInsertStore()",
        {
            "test_concurrent_creates_of_one_id_admit_exactly_one": (
                "concurrent creates of one id admit exactly one"
            )
        },
    ),
    "resurrects-on-update": Case(
        "ResurrectingStore()",
        {
            "test_update_after_delete_does_not_resurrect": "no resurrection after delete",
            SM_TEST: SM_FAILURE,
        },
    ),
    "drops-microseconds": Case(
        "MicrosecondDroppingStore()",
        {"test_timestamps_come_back_aware_utc_with_microseconds": "microseconds lost"},
    ),
    "drops-time-zone": Case(
        "TimeZoneDroppingStore()",
        {
            "test_timestamps_from_other_time_zones_keep_their_instant": "time zone round trip",
            "test_delete_expired_compares_instants_across_time_zones": (
                "delete_expired with now in UTC+2"
            ),
        },
    ),
    "accepts-naive-datetimes": Case(
        "NaiveAcceptingStore()",
        {"test_update_refuses_naive_expires_at": "update refuses a naive expires_at"},
    ),
    "leaks-other-users": Case(
        "LeakyUserStore()",
        {
            "test_list_user_returns_all_and_only_that_users_sessions": (
                "list_user returns all and only the user's"
            ),
            "test_delete_user_removes_all_and_only_that_users_sessions": (
                "must not match as a pattern"
            ),
        },
    ),
    "loose-ids": Case("LooseIdStore()", {"test_ids_are_compared_exactly": "ids compared exactly"}),
    "expiry-off-by-one": Case(
        "ExpiryOffByOneStore()",
        {
            "test_delete_expired_removes_exactly_rows_expiring_at_or_before_now": (
                "delete_expired removes exactly expires_at <= now"
            ),
            SM_TEST: SM_FAILURE,
        },
    ),
    "count-off-by-one": Case(
        "CountOffByOneStore()",
        {
            "test_count_expired_counts_rows_expiring_at_or_before_now": (
                "count_expired counts exactly expires_at <= now"
            )
        },
    ),
    "ignores-batch-limit": Case(
        "LimitIgnoringStore()",
        {
            "test_delete_expired_respects_the_batch_limit": "delete_expired batch limit",
            SM_TEST: SM_FAILURE,
        },
    ),
    "hides-expired": Case(
        "ExpiredHidingStore()",
        {"test_get_returns_expired_records": "get returns expired records"},
    ),
    "shares-mutable-records": Case(
        "SharedMutableStore()",
        {
            "test_records_returned_are_not_shared_mutable_state": (
                "records returned are not shared mutable state"
            ),
            "test_data_given_to_create_and_update_is_copied": "data given to the store is copied",
        },
    ),
    "loses-float-type": Case(
        "NumberLosingStore()",
        {"test_round_trip_keeps_json_number_types": "expected float 1.0, got integer 1"},
    ),
    "normalises-unicode": Case(
        "UnicodeNormalisingStore()",
        {"test_round_trip_keeps_unicode_and_emoji": "unicode round trip of 'e\\u0301'"},
    ),
    "merges-updates": Case(
        "MergingUpdateStore()",
        {
            "test_update_replaces_data_as_a_whole": "update(data=) replaces, not merges",
            SM_TEST: SM_FAILURE,
        },
    ),
    "ignores-empty-data": Case(
        "FalsyDataStore()",
        {"test_update_replaces_data_as_a_whole": "update(data={}) clears the data"},
    ),
    "refreshes-on-write": Case(
        "RefreshOnWriteStore()",
        {"test_update_changes_only_the_given_fields": "update(data=) changes only data"},
    ),
    "counts-changed-rows": Case(
        "RowCountUpdateStore()",
        {
            "test_update_returns_true_when_values_are_unchanged": (
                "update with the stored values must still return True"
            )
        },
    ),
    "delete-always-true": Case(
        "DeleteAlwaysTrueStore()",
        {
            "test_delete_reports_whether_it_deleted": "delete of an unknown id must return False",
            "test_deleting_twice_is_not_an_error": "second delete must return False",
        },
    ),
    "forgets-device-fields": Case(
        "DeviceForgettingStore()",
        {"test_device_fields_round_trip": "device fields round trip"},
    ),
    "moves-created-at": Case(
        "CreatedAtMovingStore()",
        {
            "test_update_sets_last_seen_and_authenticated_only": (
                "update(authenticated_at=) changes only it"
            )
        },
    ),
    "ignores-keep": Case(
        "KeepIgnoringStore()",
        {"test_delete_user_keeps_only_the_kept_session": "delete_user(keep=) must return 3"},
    ),
    "leaks-driver-errors": Case(
        "MemoryStore()",
        {
            "test_every_method_raises_store_unavailable_when_the_service_is_down": (
                "create raises StoreUnavailable when the service is down: raised "
                "ConnectionRefusedError"
            )
        },
        unavailable="leaks_driver_error()",
    ),
    "hides-missing-table": Case(
        "MemoryStore()",
        {
            "test_every_method_raises_table_missing_when_the_table_does_not_exist": (
                "create raises TableMissing when the table does not exist: raised StoreUnavailable"
            )
        },
        without_table="hides_missing_table()",
    ),
}

HEADER = f"""
import importlib.util
import sys

import pytest

from fastapi_anchor.testing import SessionStoreSuite

_spec = importlib.util.spec_from_file_location("anchor_broken_stores", {str(Path(__file__))!r})
broken = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = broken
_spec.loader.exec_module(broken)
"""


def class_name(key: str) -> str:
    return "Test" + "".join(part.title() for part in key.split("-"))


def subclass_source(key: str, case: Case) -> str:
    lines = [f"class {class_name(key)}(SessionStoreSuite):"]
    fixtures = {"store": case.store}
    if case.unavailable:
        lines.append("    can_be_unavailable = True")
        fixtures["unavailable_store"] = case.unavailable
    if case.without_table:
        lines.append("    can_miss_table = True")
        fixtures["store_without_table"] = case.without_table
    for name, expression in fixtures.items():
        lines += [
            "    @pytest.fixture",
            f"    async def {name}(self):",
            f"        yield broken.{expression}",
        ]
    return "\n".join(lines)


Outcomes = dict[str, dict[str, tuple[str, str]]]


def run_pytest(directory: Path, *args: str) -> Outcomes:
    """Run pytest in a subprocess in `directory`; return {class: {test: (outcome, text)}}."""
    report = directory / "report.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-q",
            f"--junitxml={report}",
            *args,
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert report.exists(), completed.stdout + completed.stderr
    outcomes: Outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        test = case.get("name", "").split("[")[0]
        outcome, text = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome, text = child.tag, (child.get("message") or "") + "\n" + (child.text or "")
        outcomes.setdefault(cls, {})[test] = (outcome, text)
    return outcomes


@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    directory = tmp_path_factory.mktemp("conformance")
    cases = {**CONTROLS, **BROKEN}
    source = HEADER + "".join(f"\n\n{subclass_source(k, c)}\n" for k, c in cases.items())
    (directory / "test_stores_under_the_suite.py").write_text(source)
    return run_pytest(directory)


@pytest.mark.parametrize("key", sorted(CONTROLS))
def test_correct_stores_pass_the_suite(suite_runs: Outcomes, key: str) -> None:
    results = suite_runs[class_name(key)]
    failed = {t: text for t, (o, text) in results.items() if o in ("failure", "error")}
    assert not failed, failed
    assert len(results) >= 40
    for test in CONTROLS[key].passing:
        assert results[test][0] == "passed", results[test]


@pytest.mark.parametrize("key", sorted(BROKEN))
def test_each_broken_store_fails_the_rule_it_breaks(suite_runs: Outcomes, key: str) -> None:
    results = suite_runs[class_name(key)]
    failed = sorted(t for t, (o, _) in results.items() if o == "failure")
    for test, message in BROKEN[key].failing.items():
        outcome, text = results[test]
        assert outcome == "failure", f"{key}: {test} {outcome}; failed: {failed}"
        assert message in text, text
