"""The example app's protected routes, with clients logged in by the test helper (no form)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fastapi_anchor.testing import async_login_client, login_client


@pytest.fixture
def example() -> ModuleType:
    return importlib.reload(importlib.import_module("examples.app"))


@pytest.fixture
def client(example: ModuleType) -> Iterator[TestClient]:
    with TestClient(example.app, base_url="https://testserver") as c:
        yield c


def test_login_client_gives_a_real_session_with_data(
    example: ModuleType, client: TestClient
) -> None:
    record = login_client(client, example.anchor, "carol", {"role": "admin"})
    me = client.get("/me").json()
    assert me["user_id"] == "carol"
    assert me["data"] == {"role": "admin"}
    [listed] = client.get("/sessions").json()
    assert listed["handle"] == record.id[:16]


def test_the_fixture_logs_in_and_logout_everywhere_works(
    example: ModuleType,
    client: TestClient,
    anchor_login: Callable[..., Any],
) -> None:
    anchor_login(client, example.anchor, "dave")
    with TestClient(example.app, base_url="https://testserver") as other:
        anchor_login(other, example.anchor, "dave")
        assert client.post("/logout-everywhere").json() == {"ended": 2}
        assert other.get("/me").status_code == 401
    assert client.get("/me").status_code == 401


def test_the_helper_refuses_nothing_the_app_would_not(
    example: ModuleType, client: TestClient
) -> None:
    login_client(client, example.anchor, "erin")
    response = client.post("/logout-everywhere", headers={"origin": "https://evil.example"})
    assert response.status_code == 403  # the CSRF check still runs: it is the real path


@pytest.mark.anyio
async def test_async_login_client(example: ModuleType) -> None:
    transport = httpx.ASGITransport(app=example.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        await async_login_client(client, example.anchor, "frank")
        assert (await client.get("/me")).json()["user_id"] == "frank"
        assert (await client.post("/logout")).json() == {"ok": True}
        assert (await client.get("/me")).status_code == 401
