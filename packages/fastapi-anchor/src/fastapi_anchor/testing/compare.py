"""Strict comparisons of records: `1`, `1.0` and `True` are equal in Python, not in JSON.

Each `*_difference` function returns None when the values match, else a sentence naming the first
difference; `check_record` turns that into an assertion that names the rule broken.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Mapping
from datetime import datetime, timedelta
from typing import Any

from fastapi_anchor.store import SessionRecord

__all__ = [
    "check_raises",
    "check_record",
    "check_records",
    "json_difference",
    "record_difference",
    "timestamp_difference",
]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return f"non-JSON {type(value).__name__}"


def _pair(expected: Any, actual: Any) -> str:
    """Show two different values; texts that only differ invisibly are shown escaped."""
    if isinstance(expected, str) and isinstance(actual, str):
        folded = unicodedata.normalize("NFC", expected) == unicodedata.normalize("NFC", actual)
        if folded or expected.strip() == actual.strip():
            return f"expected {expected!a:.120}, got {actual!a:.120} (invisible difference)"
    return f"expected {expected!r:.80}, got {actual!r:.80}"


def json_difference(expected: Any, actual: Any, path: str = "data") -> str | None:
    """Describe the first difference between two JSON values, their types included."""
    kind = _json_type(expected)
    if _json_type(actual) != kind:
        return f"{path}: expected {kind} {expected!r:.80}, got {_json_type(actual)} {actual!r:.80}"
    if kind == "object":
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        if missing or extra:
            return f"{path}: keys missing {missing!r:.200}, keys added {extra!r:.200}"
        for key in expected:
            diff = json_difference(expected[key], actual[key], f"{path}[{key!r}]")
            if diff:
                return diff
        return None
    if kind == "array":
        if len(expected) != len(actual):
            return f"{path}: expected {len(expected)} items, got {len(actual)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            diff = json_difference(want, got, f"{path}[{index}]")
            if diff:
                return diff
        return None
    if expected != actual:
        if kind == "string" and len(expected) > 80:
            pairs = enumerate(zip(expected, actual, strict=False))
            at = next((i for i, (a, b) in pairs if a != b), None)
            where = f"first differing at index {at}" if at is not None else "truncated or extended"
            return f"{path}: string of {len(expected)} chars came back as {len(actual)}, {where}"
        return f"{path}: {_pair(expected, actual)}"
    return None


def timestamp_difference(name: str, expected: datetime, actual: Any) -> str | None:
    """Describe how `actual` fails to be `expected` as an aware UTC datetime, or return None."""
    if not isinstance(actual, datetime):
        return f"{name}: expected a datetime, got {type(actual).__name__}"
    offset = actual.utcoffset()
    if offset is None:
        return f"{name}: came back naive ({actual!r}); it must be timezone-aware UTC"
    if offset != timedelta(0):
        return f"{name}: came back with UTC offset {offset}; it must be UTC"
    if actual == expected:
        return None
    if actual.replace(microsecond=0) == expected.replace(microsecond=0):
        return f"{name}: microseconds lost: stored {expected.isoformat()}, got {actual.isoformat()}"
    return (
        f"{name}: stored {expected.isoformat()}, got {actual.isoformat()} "
        f"(off by {actual - expected}; a time zone dropped or applied twice?)"
    )


def record_difference(expected: SessionRecord, actual: Any) -> str | None:
    """Describe the first field where `actual` differs from `expected`, or return None."""
    if not isinstance(actual, SessionRecord):
        return f"expected a SessionRecord, got {type(actual).__name__} {actual!r:.80}"
    for name in ("id", "user_id"):
        want, got = getattr(expected, name), getattr(actual, name)
        if type(got) is not str or want != got:
            return f"{name}: {_pair(want, got)}"
    for name in ("created_at", "expires_at", "authenticated_at", "last_seen_at"):
        diff = timestamp_difference(name, getattr(expected, name), getattr(actual, name))
        if diff:
            return diff
    for name in ("ip_address", "user_agent", "persistent"):
        want, got = getattr(expected, name), getattr(actual, name)
        if type(got) is not type(want) or want != got:
            return f"{name}: {_pair(want, got)}"
    return json_difference(expected.data, actual.data)


def check_record(rule: str, actual: Any, expected: SessionRecord) -> None:
    """Assert that `actual` is `expected`, field by field, in a message naming `rule`."""
    diff = record_difference(expected, actual)
    assert diff is None, f"{rule}: {diff}"


def check_records(rule: str, actual: list[SessionRecord], expected: list[SessionRecord]) -> None:
    """Assert that two lists hold the same records in any order, in a message naming `rule`."""
    assert isinstance(actual, list), f"{rule}: expected a list, got {type(actual).__name__}"
    got_ids = sorted(r.id for r in actual)
    want_ids = sorted(r.id for r in expected)
    if got_ids != want_ids:
        missing = sorted(set(want_ids) - set(got_ids))
        extra = sorted(set(got_ids) - set(want_ids))
        dupes = len(got_ids) - len(set(got_ids))
        raise AssertionError(
            f"{rule}: {len(missing)} record(s) missing {[i[:12] for i in missing]}, "
            f"{len(extra)} not expected {[i[:12] for i in extra]}, {dupes} duplicated"
        )
    by_id = {r.id: r for r in actual}
    for record in expected:
        check_record(rule, by_id[record.id], record)


async def check_raises(rule: str, error: type[Exception], call: Awaitable[object]) -> None:
    """Await `call` and assert that it raises `error`, in a message naming `rule`."""
    try:
        result = await call
    except error:
        return
    except Exception as exc:
        raise AssertionError(
            f"{rule}: raised {type(exc).__name__} ({exc}) instead of {error.__name__}"
        ) from exc
    raise AssertionError(f"{rule}: did not raise {error.__name__} (returned {result!r:.80})")
