from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fastapi_anchor import Anchor
from fastapi_anchor.testing import session_app

from anchor_support import SECRET, CountingStore, MovableClock


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def counting_store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def anchor(counting_store: CountingStore, clock: MovableClock) -> Anchor:
    return Anchor(
        counting_store,
        secret_keys=SECRET,
        idle_timeout=timedelta(hours=2),
        absolute_timeout=timedelta(days=1),
        clock=clock,
    )


@pytest.fixture
def client(anchor: Anchor) -> Iterator[TestClient]:
    with TestClient(session_app(anchor), base_url="https://testserver") as c:
        yield c
