"""The `fastapi_anchor` logger and its rate-limited record of store failures.

The library adds no handler: configure `logging` as for any library. Each store failure is
logged with its class and cause (the database's SQLSTATE and message), at most once per kind
of failure per `window` seconds, then with a count of the ones left out, so an outage leaves a
steady trickle of lines rather than one per request. Messages never hold a token, a cookie or
a key: only what the store error says.
"""

from __future__ import annotations

import logging
from time import monotonic

from fastapi_anchor.exceptions import StoreError, StoreRejected, TableMissing

__all__ = ["FailureLog", "logger"]

logger = logging.getLogger("fastapi_anchor")
"""The library's logger (standard `logging`, no handler of its own)."""


class FailureLog:
    """Log store failures on `logger`, one line per kind of failure per `window` seconds.

    A kind is the error's class and SQLSTATE. `TableMissing` and `StoreRejected` (a deploy
    mistake or a bug) are errors; other unavailability is a warning.

    Args:
        window: Seconds during which further failures of one kind are only counted.
    """

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._last: dict[tuple[type[StoreError], str | None], tuple[float, int]] = {}

    def record(self, error: StoreError, operation: str) -> None:
        """Log `error`, raised by the store's `operation`, unless its kind was logged lately."""
        key = (type(error), error.sqlstate)
        now = monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.window:
            self._last[key] = (last[0], last[1] + 1)
            return
        self._last[key] = (now, 0)
        left_out = last[1] if last is not None else 0
        mistake = isinstance(error, (TableMissing, StoreRejected))
        level = logging.ERROR if mistake else logging.WARNING
        suffix = f" ({left_out} more like it since the last such line)" if left_out else ""
        cause = f"{type(error).__name__}: {error}"
        logger.log(level, "session store %s failed: %s%s", operation, cause, suffix)
