"""Builders of test records and the sample values the suite stores.

Every id and user id is fresh (random), so a test relies only on rows it created itself: a
store may be shared across Hypothesis examples, and PostgreSQL adapters may share a database.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token, new_token

__all__ = [
    "FLOATS_OF_ANY_MAGNITUDE",
    "LARGE_DATA_BYTES",
    "NESTED_DATA",
    "NUMBERS",
    "T0",
    "UNICODE_TEXTS",
    "large_data",
    "make_record",
    "new_id",
    "new_user",
]

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
"""The suite's reference instant; its microseconds are there on purpose."""

UNICODE_TEXTS = (
    "Zoë",
    "Ångström",
    "用户名",
    "пользователь",
    "مستخدم",  # right to left
    "🚀",
    "👩‍💻",  # an emoji made of several code points (zero-width joiner)
    "🇫🇷",  # a flag: two regional indicators
    "e\u0301",  # a combining accent, not normalised to é
    'quote " backslash \\ slash /',
    "line\nbreak\ttab\r\u2028\u2029",
    "\u00a0non-breaking\u200bzero-width",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # noqa: RUF001 - outside the Basic Multilingual Plane
)
"""Texts that must survive as user ids, data keys and data values, byte for byte."""

NUMBERS: dict[str, Any] = {
    "zero": 0,
    "one": 1,
    "minus": -7,
    "int_53": 2**53 + 1,  # not representable as a float
    "int_63": 2**63 - 1,
    "int_neg_63": -(2**63),
    "int_64": 2**64 + 3,
    "float_one": 1.0,  # a float with an integral value stays a float
    "float_zero": 0.0,
    "float_neg": -2.5,
    "tenth": 0.1,
    "third": 1 / 3,
    "small": 1.5e-10,
    "precise": 123456789.12345679,
}
"""JSON numbers whose type (int or float) and value must both be kept."""

FLOATS_OF_ANY_MAGNITUDE: dict[str, float] = {
    "e16": 1e16,
    "e22": -1e22,
    "e300": 1.5e300,
    "max": 1.7976931348623157e308,
    "min_normal": 2.2250738585072014e-308,
    "min_subnormal": 5e-324,
}
"""Floats that Python writes with an exponent; they must come back as the same floats."""

NESTED_DATA: dict[str, Any] = {
    "profile": {"name": "Zoë", "roles": ["admin", "reader"], "prefs": {"theme": {"dark": True}}},
    "empty_object": {},
    "empty_list": [],
    "list_of_objects": [{"a": 1}, {"b": [1, 2.0, "3", None, False]}, []],
    "deep": {"l1": {"l2": {"l3": {"l4": {"l5": {"l6": {"l7": {"l8": [[[["bottom"]]]]}}}}}}}},
    "": "empty key",
    "a.b": "dotted key",
    "$where": "dollar key",
    "123": "numeric key",
}
"""Nested JSON objects and arrays, empty ones included, and keys that look like syntax."""

LARGE_DATA_BYTES = 100 * 1024
"""The size of data every store must hold (unless it sets `supports_large_data = False`)."""


def new_id() -> str:
    """Return a fresh session id, shaped like the real ones (SHA-256 hex of a new token)."""
    return hash_token(new_token())


def new_user(label: str = "user") -> str:
    """Return a user id no other test uses."""
    return f"{label}-{secrets.token_hex(6)}"


def make_record(user_id: str | None = None, **changes: Any) -> SessionRecord:
    """Return a valid record with a fresh id and user; keyword arguments override fields."""
    fields: dict[str, Any] = {
        "id": new_id(),
        "user_id": new_user() if user_id is None else user_id,
        "created_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "data": {},
    }
    fields.update(changes)
    return SessionRecord(**fields)


def large_data(size: int = LARGE_DATA_BYTES) -> dict[str, Any]:
    """Return a JSON object of about `size` bytes of UTF-8: one long text and many keys."""
    chunk = "0123456789abcdef-é-🚀"  # 1-, 2- and 4-byte UTF-8 characters
    long_text = chunk * (size // 2 // len(chunk.encode()) + 1)
    items = {f"key-{i:05d}": f"value {i} ✓" for i in range(size // 2 // 20 + 1)}
    return {"long": long_text, "items": items, "count": len(items)}
