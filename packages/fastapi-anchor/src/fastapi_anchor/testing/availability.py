"""Availability: a store whose service is down, or whose table is missing, says so.

Both rules are optional (flags `can_be_unavailable`, `can_miss_table`): `MemoryStore` has
neither a service to lose nor a table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import anyio

from fastapi_anchor.store import SessionStore, StoreUnavailable, TableMissing
from fastapi_anchor.testing.base import StoreT, SuiteBase
from fastapi_anchor.testing.records import T0, make_record, new_id, new_user

__all__ = ["UNAVAILABLE_WITHIN", "AvailabilityRules"]

UNAVAILABLE_WITHIN = 10.0
"""Seconds within which a call to a store whose service is down must fail."""


async def _check_every_method_raises(
    store: SessionStore, error: type[StoreUnavailable], when: str
) -> None:
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "create": lambda: store.create(make_record()),
        "get": lambda: store.get(new_id()),
        "update": lambda: store.update(new_id(), expires_at=T0 + timedelta(hours=1)),
        "delete": lambda: store.delete(new_id()),
        "delete_user": lambda: store.delete_user(new_user()),
        "list_user": lambda: store.list_user(new_user()),
        "delete_expired": lambda: store.delete_expired(T0),
    }
    for name, call in calls.items():
        rule = f"{name} raises {error.__name__} when {when}"
        try:
            with anyio.fail_after(UNAVAILABLE_WITHIN):
                result = await call()
        except error:
            continue
        except TimeoutError as exc:
            raise AssertionError(f"{rule}: no answer within {UNAVAILABLE_WITHIN} s") from exc
        except Exception as exc:
            raise AssertionError(f"{rule}: raised {type(exc).__name__}: {exc}") from exc
        raise AssertionError(f"{rule}: returned {result!r:.80}")


class AvailabilityRules(SuiteBase[StoreT]):
    """Failures of what is behind the store surface as StoreUnavailable: the core answers 503."""

    async def test_every_method_raises_store_unavailable_when_the_service_is_down(
        self, unavailable_store: StoreT
    ) -> None:
        """Each method raises StoreUnavailable, promptly, when the service does not answer.

        A driver error escaping as itself becomes a 500; one taken for "no session" would be a
        401 that logs everybody out. The core turns StoreUnavailable into 503 with Retry-After.
        """
        self._require("can_be_unavailable")
        await _check_every_method_raises(unavailable_store, StoreUnavailable, "the service is down")

    async def test_every_method_raises_table_missing_when_the_table_does_not_exist(
        self, store_without_table: StoreT
    ) -> None:
        """Each method raises TableMissing when the sessions table was never created.

        Its message tells the operator how to create the table, instead of a 503 nobody can
        explain (TableMissing is a StoreUnavailable, so the core still answers 503).
        """
        self._require("can_miss_table")
        await _check_every_method_raises(
            store_without_table, TableMissing, "the table does not exist"
        )
