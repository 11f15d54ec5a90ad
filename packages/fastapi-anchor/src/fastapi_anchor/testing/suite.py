"""`SessionStoreSuite`: every rule group of the store contract in one class to subclass."""

from __future__ import annotations

import pytest

from fastapi_anchor.testing.availability import AvailabilityRules
from fastapi_anchor.testing.base import StoreT
from fastapi_anchor.testing.concurrency import ConcurrencyRules
from fastapi_anchor.testing.devices import DeviceRules
from fastapi_anchor.testing.expiry import ExpiryRules
from fastapi_anchor.testing.identity import IdentityRules
from fastapi_anchor.testing.roundtrip import RoundTripRules
from fastapi_anchor.testing.sharing import SharingRules
from fastapi_anchor.testing.state_machine import StateMachineRules
from fastapi_anchor.testing.updates import UpdateRules
from fastapi_anchor.testing.users import UserRules

__all__ = ["SessionStoreSuite"]


@pytest.mark.anyio
class SessionStoreSuite(
    RoundTripRules[StoreT],
    IdentityRules[StoreT],
    UpdateRules[StoreT],
    UserRules[StoreT],
    DeviceRules[StoreT],
    ExpiryRules[StoreT],
    SharingRules[StoreT],
    ConcurrencyRules[StoreT],
    StateMachineRules[StoreT],
    AvailabilityRules[StoreT],
):
    """The conformance suite of `SessionStore`: subclass it as `Test<YourStore>`.

    Provide an async `store` fixture that yields a fresh, EMPTY store for each test (and
    cleans it up); the tests run on anyio's pytest plugin, so no pytest-asyncio is needed::

        class TestMyStore(SessionStoreSuite[MyStore]):
            @pytest.fixture
            async def store(self) -> AsyncIterator[MyStore]:
                yield MyStore(...)

    Each test is named for the rule it checks, and its docstring says why the rule matters.
    Tests are independent of their order and only rely on rows they create, except the
    `delete_expired` ones, which rely on the store being empty.

    Optional, as class attributes and overrides (nothing the core relies on is optional):

    - `supports_large_data` (True): set False to skip the 100 KiB data round trip.
    - `can_be_unavailable` (False): set True and override the `unavailable_store` fixture to
      check that every method raises `StoreUnavailable` when the service is down.
    - `can_miss_table` (False): set True and override the `store_without_table` fixture to
      check that every method raises `TableMissing` when the table does not exist.
    - `count_expired` is checked when the store implements the optional `CountsExpired`.
    - `concurrency` (20): calls run at once by the concurrency rules.
    - `read_stored(store, session_id)`: read what is really stored, bypassing the store.
    """
