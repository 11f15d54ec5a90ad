"""Malformed session cookies: each is 401 (or anonymous), never 500, and never reaches the store."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fastapi_anchor import CookieSigner, new_token
from fastapi_anchor.cookies import MAX_COOKIE_BYTES

from anchor_support import SECRET, CountingStore


@pytest.fixture
def valid_cookie(client: TestClient) -> str:
    client.post("/login", params={"user": "alice"})
    value = client.cookies["session"]
    client.cookies.clear()
    return value


def malformed_headers(valid: str) -> dict[str, str]:
    other_app = CookieSigner("another-app-secret-0123456789-abcdef").sign(new_token())
    other_salt = CookieSigner(SECRET, salt="another-purpose").sign(new_token())
    token, signature = valid.rsplit(".", 1)
    return {
        "garbage": "session=%%%garbage%%%",
        "empty": "session=",
        "whitespace": "session=   ",
        "truncated": f"session={valid[:-5]}",
        "signature only": f"session=.{signature}",
        "token only": f"session={token}",
        "signature over another token": f"session={new_token()}.{signature}",
        "another app's key": f"session={other_app}",
        "same key, another salt": f"session={other_salt}",
        "oversized": f"session={valid}{'A' * MAX_COOKIE_BYTES}",
        "crlf": f"session={valid}\\r\\nSet-Cookie: x=1",
        "quoted": f'session="{valid}"',
        "url-encoded dot": f"session={valid.replace('.', '%2E')}",
        "duplicate name, both valid-looking": f"session={valid}; session={valid}",
        "duplicate name, one bad": f"session=bad; session={valid}",
        "name differs by case": f"Session={valid}",
        "name with __Host- prefix": f"__Host-session={valid}",
        "name with trailing space": f"session ={valid}x",
    }


CASES = list(malformed_headers("a.b"))


@pytest.mark.parametrize("case", CASES)
def test_malformed_cookie_is_401_without_a_store_call(
    case: str, client: TestClient, valid_cookie: str, counting_store: CountingStore
) -> None:
    header = malformed_headers(valid_cookie)[case]
    counting_store.calls.clear()
    response = client.get("/me", headers={"cookie": header})
    assert response.status_code == 401, case
    assert counting_store.calls["get"] == 0, case
    optional = client.get("/maybe", headers={"cookie": header})
    assert optional.json() == {"user": None}
    assert counting_store.calls["get"] == 0, case


def test_non_utf8_cookie_bytes_are_401_without_a_store_call(
    client: TestClient, valid_cookie: str, counting_store: CountingStore
) -> None:
    counting_store.calls.clear()
    raw = b"session=" + valid_cookie.encode()[:-3] + b"\xff\xfe\x80"
    response = client.get("/me", headers=[(b"cookie", raw)])
    assert response.status_code == 401
    assert counting_store.calls["get"] == 0


def test_the_valid_cookie_among_others_is_accepted(client: TestClient, valid_cookie: str) -> None:
    header = f"theme=dark; session={valid_cookie}; lang=en"
    assert client.get("/me", headers={"cookie": header}).status_code == 200


def test_two_cookie_headers_with_the_same_name_are_refused(
    client: TestClient, valid_cookie: str
) -> None:
    headers = [("cookie", f"session={valid_cookie}"), ("cookie", "session=other")]
    assert client.get("/me", headers=headers).status_code == 401
