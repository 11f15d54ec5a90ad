"""The original README's in-memory quick start runs unchanged and behaves as it promises."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any
from uuid import UUID

import anyio
import pytest
from fastapi.testclient import TestClient

from fastapi_anchor.frontends.implementations import InsecureSecretWarning
from fastapi_anchor.tokens import hash_token

from seed_readme import SEED_README, seed_block


def run_quick_start() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "seed_quickstart"}
    # The seed signs with "your-secret": it runs, with a warning that the key is too short.
    with pytest.warns(InsecureSecretWarning):
        exec(compile(seed_block("Quick start (in-memory)"), "seed_quickstart", "exec"), namespace)
    return namespace


@pytest.fixture
def seed() -> dict[str, Any]:
    return run_quick_start()


@pytest.fixture
def client(seed: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(seed["app"], base_url="https://testserver") as c:
        yield c


def cookie_header(value: str) -> dict[str, str]:
    return {"cookie": f"session={value}"}


def test_the_seed_readme_is_kept_byte_for_byte() -> None:
    """Formatters must not touch it (ruff excludes tests/seed): its examples run as written."""
    digest = hashlib.sha256(SEED_README.read_bytes()).hexdigest()
    assert digest == "4c20370c5b09833e469b9ed80f37e5d5fe33d8823b9dac3e8201f2e537a04afe"


def test_the_quick_start_block_is_the_seed_verbatim() -> None:
    block = seed_block("Quick start (in-memory)")
    assert block.startswith("from uuid import UUID, uuid4\n")
    assert "backend = InMemoryBackend[UUID, SessionData]()" in block
    assert block.rstrip().endswith('return {"ok": True}')


def test_no_cookie_is_refused(client: TestClient) -> None:
    assert client.get("/me").status_code == 401


def test_login_sets_an_httponly_cookie_named_session(client: TestClient) -> None:
    response = client.post("/login", params={"user_id": "alice"})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    jar: SimpleCookie = SimpleCookie()
    jar.load(response.headers["set-cookie"])
    assert jar["session"]["httponly"] is True
    assert int(jar["session"]["max-age"]) == 14 * 24 * 3600


def test_me_returns_the_session_data(client: TestClient) -> None:
    client.post("/login", params={"user_id": "alice"})
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json() == {"user_id": "alice"}


def test_tampered_cookie_is_refused(client: TestClient) -> None:
    client.post("/login", params={"user_id": "alice"})
    value = client.cookies["session"]
    client.cookies.clear()
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    assert client.get("/me", headers=cookie_header(tampered)).status_code == 401
    assert client.get("/me", headers=cookie_header(value)).status_code == 200


def test_logout_then_replay_is_401(client: TestClient) -> None:
    client.post("/login", params={"user_id": "alice"})
    old = client.cookies["session"]
    response = client.post("/logout")
    assert response.status_code == 200
    assert (
        'session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in (response.headers["set-cookie"])
    )
    client.cookies.clear()
    replay = client.get("/me", headers=cookie_header(old))
    assert replay.status_code == 401
    assert replay.json() == {"detail": "Invalid session"}
    again = client.post("/logout", headers=cookie_header(old))
    assert again.status_code == 200  # a second logout is harmless


def test_backend_stores_only_the_hash_of_the_session_id(
    seed: dict[str, Any], client: TestClient
) -> None:
    client.post("/login", params={"user_id": "alice"})
    [record] = anyio.run(seed["backend"].store.list_user, "alice")
    session_uuid = UUID(client.cookies["session"].rsplit(".", 1)[0])
    assert record.id == hash_token(str(session_uuid))
    assert str(session_uuid) not in record.id
