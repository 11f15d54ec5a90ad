"""Time for the core and every store: the default clock and checks on aware datetimes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

__all__ = ["Clock", "check_expiry_args", "ensure_utc", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC (the default clock)."""
    return datetime.now(timezone.utc)


def ensure_utc(value: datetime, name: str = "value") -> datetime:
    """Return the aware datetime `value` in UTC; stores use it on `update(expires_at=...)`.

    Raises:
        TypeError: `value` is not a datetime.
        ValueError: `value` is naive.
    """
    if value.__class__ is datetime and value.tzinfo is timezone.utc:
        return value  # the common case (drivers return UTC): nothing to check or convert
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(timezone.utc)


def check_expiry_args(now: datetime, limit: int) -> None:
    """Validate the arguments of `SessionStore.delete_expired` (every store calls this).

    Raises:
        ValueError: `now` is naive or `limit` is below 1.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
