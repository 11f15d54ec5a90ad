"""`with_data`: a stored record handed out again, with data of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from fastapi_anchor.store import SessionRecord

__all__ = ["with_data"]

_FIELDS = tuple(field.name for field in fields(SessionRecord))


def with_data(record: SessionRecord, data: Mapping[str, Any]) -> SessionRecord:
    """Return a copy of `record`, validated when it was stored, with `data` instead.

    Skips validating the fields again (a stored record is read on every request's path), so
    callers never share a mutable `data` with a store or a cache.
    """
    copy = object.__new__(SessionRecord)
    for name in _FIELDS:
        object.__setattr__(copy, name, getattr(record, name))
    object.__setattr__(copy, "data", data)
    return copy
