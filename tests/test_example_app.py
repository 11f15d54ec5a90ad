"""The example app: login form, JSON routes, logout and logout everywhere."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def app_module() -> object:
    module = importlib.import_module("examples.app")
    return importlib.reload(module)  # a fresh memory store per test


@pytest.fixture
def client(app_module: object) -> Iterator[TestClient]:
    with TestClient(app_module.app, base_url="https://testserver") as c:  # type: ignore[attr-defined]
        yield c


def log_in(client: TestClient, user: str = "alice", password: str = "wonderland") -> None:
    response = client.post(
        "/login", data={"username": user, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_home_shows_the_login_form_to_visitors(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<form method="post" action="/login">' in page.text
    assert client.get("/me").status_code == 401


def test_wrong_password_sets_no_cookie(client: TestClient) -> None:
    response = client.post(
        "/login", data={"username": "alice", "password": "nope"}, follow_redirects=False
    )
    assert response.headers["location"] == "/?error=1"
    assert "set-cookie" not in response.headers
    assert "Wrong user or password" in client.get("/?error=1").text


def test_login_me_sessions_logout_replay(client: TestClient) -> None:
    log_in(client)
    assert "Logged in as <strong>alice</strong>" in client.get("/").text
    me = client.get("/me").json()
    assert me["user_id"] == "alice"
    assert me["data"] == {"login_method": "password"}
    [listed] = client.get("/sessions").json()
    assert listed["current"] is True
    assert len(listed["handle"]) == 16
    assert listed["user_agent"] == "testclient"  # Starlette's TestClient sends this
    old = client.cookies["session"]
    assert client.post("/logout").json() == {"ok": True}
    client.cookies.clear()
    assert client.get("/me", headers={"cookie": f"session={old}"}).status_code == 401


def test_logout_everywhere_ends_the_other_devices(app_module: object) -> None:
    app = app_module.app  # type: ignore[attr-defined]
    with (
        TestClient(app, base_url="https://testserver") as laptop,
        TestClient(app, base_url="https://testserver") as phone,
        TestClient(app, base_url="https://testserver") as bob,
    ):
        log_in(laptop)
        log_in(phone)
        log_in(bob, "bob", "builder")
        assert len(phone.get("/sessions").json()) == 2
        assert laptop.post("/logout-everywhere").json() == {"ended": 2}
        assert phone.get("/me").status_code == 401
        assert laptop.get("/me").status_code == 401
        assert bob.get("/me").status_code == 200


def test_safe_methods_change_nothing(client: TestClient) -> None:
    log_in(client)
    before = client.get("/sessions").json()
    for path in ("/", "/me", "/sessions", "/logout", "/logout-everywhere"):
        client.get(path)
    assert client.get("/sessions").json() == before


def test_cross_site_logout_everywhere_is_refused(client: TestClient) -> None:
    log_in(client)
    response = client.post("/logout-everywhere", headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    assert client.get("/me").status_code == 200


def test_login_refuses_a_cross_site_form(client: TestClient) -> None:
    response = client.post(
        "/login",
        data={"username": "alice", "password": "wonderland"},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_without_remember_me_the_cookie_ends_with_the_browser(client: TestClient) -> None:
    remembered = client.post(
        "/login",
        data={"username": "alice", "password": "wonderland", "remember": "true"},
        follow_redirects=False,
    )
    assert "max-age=" in remembered.headers["set-cookie"].lower()
    client.cookies.clear()
    forgotten = client.post(
        "/login", data={"username": "alice", "password": "wonderland"}, follow_redirects=False
    )
    header = forgotten.headers["set-cookie"].lower()
    assert "max-age" not in header
    assert "expires" not in header


def test_changing_the_password_asks_again_when_the_login_is_old(app_module: object) -> None:
    example: Any = app_module
    app, anchor = example.app, example.anchor
    with (
        TestClient(app, base_url="https://testserver") as laptop,
        TestClient(app, base_url="https://testserver") as phone,
    ):
        log_in(laptop)
        log_in(phone)
        started = anchor.clock()
        anchor.clock = lambda: started + timedelta(minutes=6)  # the login is now 6 minutes old
        stale = laptop.post("/password", json={"new_password": "looking-glass"})
        assert stale.status_code == 403
        assert stale.headers["x-anchor-reason"] == "reauthentication_required"
        assert laptop.post("/confirm-password", json={"password": "nope"}).status_code == 400
        assert laptop.post("/confirm-password", json={"password": "wonderland"}).status_code == 200
        changed = laptop.post("/password", json={"new_password": "looking-glass"})
        assert changed.json() == {"other_sessions_ended": 1}
        assert phone.get("/me").status_code == 401
        assert laptop.get("/me").status_code == 200
        laptop.cookies.clear()
        log_in(laptop, "alice", "looking-glass")
