"""CSRF: unsafe requests on session routes must come from the app's own or a trusted origin."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fastapi_anchor import Anchor, ConfigurationError, MemoryStore
from fastapi_anchor.testing import session_app

from anchor_support import SECRET, CountingStore


@pytest.fixture
def logged_in(client: TestClient) -> TestClient:
    client.post("/login", params={"user": "alice"})
    return client


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver"},  # same host, other scheme
        {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
        {"sec-fetch-site": "same-site", "origin": "https://sub.testserver"},
        {"sec-fetch-site": "cross-site"},
        {"referer": "https://evil.example/page"},
        # A Referer whose origin is opaque is no proof of the app's own origin either.
        {"referer": "file:///home/user/attack.html"},
        {"referer": "null"},
        {"referer": "about:blank"},
        {"referer": "data:text/html,<form method=post>"},
        {"referer": "javascript:void(0)"},
        {"referer": "/relative/page"},
        {"referer": ""},
        {"sec-fetch-site": "cross-site", "referer": "file:///attack.html"},
    ],
)
def test_cross_site_unsafe_request_is_403_without_a_store_call(
    logged_in: TestClient, headers: dict[str, str], counting_store: CountingStore
) -> None:
    counting_store.calls.clear()
    response = logged_in.post("/logout-all", headers=headers)
    assert response.status_code == 403
    assert "Cross-site" in response.json()["detail"]
    assert counting_store.calls["get"] == 0
    assert logged_in.get("/me").status_code == 200  # nothing happened


@pytest.mark.parametrize(
    "headers",
    [
        {},  # not a browser page: nothing for another site to forge
        {"origin": "https://testserver"},
        {"sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "none"},
        {"referer": "https://testserver/account"},
        {"referer": "https://TestServer/account?next=/"},
        {"origin": "https://testserver", "referer": "file:///ignored-when-origin-is-sent"},
        {"sec-fetch-site": "same-origin", "referer": "about:blank"},
    ],
)
def test_same_origin_unsafe_request_is_allowed(
    logged_in: TestClient, headers: dict[str, str]
) -> None:
    assert logged_in.post("/logout-all", headers=headers).status_code == 200


def test_safe_methods_are_not_checked(logged_in: TestClient) -> None:
    response = logged_in.get("/me", headers={"origin": "https://evil.example"})
    assert response.status_code == 200


def test_trusted_origin_is_allowed() -> None:
    anchor = Anchor(MemoryStore(), secret_keys=SECRET, trusted_origins=["https://admin.example"])
    with TestClient(session_app(anchor), base_url="https://testserver") as client:
        client.post("/login", params={"user": "alice"})
        allowed = client.post("/logout-all", headers={"origin": "https://admin.example"})
        assert allowed.status_code == 200
        client.post("/login", params={"user": "alice"})
        refused = client.post("/logout-all", headers={"origin": "https://other.example"})
        assert refused.status_code == 403


def test_check_can_be_turned_off_per_route(logged_in: TestClient) -> None:
    response = logged_in.post("/unchecked", headers={"origin": "https://evil.example"})
    assert response.status_code == 200


@pytest.mark.parametrize("origin", ["admin.example", "https://admin.example/path", "*"])
def test_malformed_trusted_origin_is_refused(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="trusted origin"):
        Anchor(MemoryStore(), secret_keys=SECRET, trusted_origins=[origin])
