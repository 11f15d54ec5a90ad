"""Rotating the signing keys: old cookies keep working and are re-signed; retired keys fail."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fastapi_anchor import Anchor, CookieSigner, MemoryStore
from fastapi_anchor.testing import session_app

OLD = "old-key-0123456789-0123456789-0123456789"
NEW = "new-key-0123456789-0123456789-0123456789"


def test_old_key_cookie_works_and_is_resigned_with_the_newest() -> None:
    store = MemoryStore()
    with TestClient(
        session_app(Anchor(store, secret_keys=OLD)), base_url="https://testserver"
    ) as client:
        client.post("/login", params={"user": "alice"})
        old_cookie = client.cookies["session"]

    with TestClient(
        session_app(Anchor(store, secret_keys=[OLD, NEW])), base_url="https://testserver"
    ) as client:
        response = client.get("/me", headers={"cookie": f"session={old_cookie}"})
        assert response.status_code == 200
        resigned = response.cookies["session"]
    assert resigned != old_cookie
    assert CookieSigner(NEW).unsign(resigned) == (old_cookie.rsplit(".", 1)[0], True)

    with TestClient(
        session_app(Anchor(store, secret_keys=NEW)), base_url="https://testserver"
    ) as client:
        assert client.get("/me", headers={"cookie": f"session={resigned}"}).status_code == 200
        retired = client.get("/me", headers={"cookie": f"session={old_cookie}"})
        assert retired.status_code == 401
