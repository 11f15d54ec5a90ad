"""The Anchor facade over HTTP: login, session, logout, timeouts, store failures."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient

from fastapi_anchor import Anchor, CookieSettings, MemoryStore, SessionRecord, StoreUnavailable
from fastapi_anchor.testing import session_app
from fastapi_anchor.tokens import hash_token

from anchor_support import SECRET, CountingStore, MovableClock


def set_cookie_headers(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined]


def parse_set_cookie(header: str) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    return jar


def as_cookie(value: str, name: str = "session") -> dict[str, str]:
    """Headers sending exactly this cookie (the client's own jar is ignored when set)."""
    return {"cookie": f"{name}={value}"}


def login(client: TestClient, user: str = "alice") -> str:
    response = client.post("/login", params={"user": user})
    assert response.status_code == 200
    return client.cookies["session"]


def test_login_sets_a_signed_httponly_secure_lax_cookie(client: TestClient) -> None:
    response = client.post("/login", params={"user": "alice"})
    assert response.status_code == 200
    [header] = set_cookie_headers(response)
    morsel = parse_set_cookie(header)["session"]
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == 2 * 3600  # follows the idle deadline


def test_store_holds_only_the_hash_of_the_token(
    client: TestClient, counting_store: CountingStore
) -> None:
    cookie = login(client)
    token = cookie.rsplit(".", 1)[0]
    assert len(counting_store) == 1
    [stored_id] = counting_store._rows
    assert stored_id == hash_token(token)
    assert token not in stored_id


def test_me_logout_and_replay_is_401(client: TestClient) -> None:
    cookie = login(client)
    me = client.get("/me")
    assert me.status_code == 200
    assert me.json() == {"user": "alice", "data": {"role": "reader"}}

    out = client.post("/logout")
    assert out.status_code == 200
    [deletion] = set_cookie_headers(out)
    assert "Max-Age=0" in deletion or "max-age=0" in deletion.lower()
    assert client.cookies.get("session") is None

    replay = client.get("/me", headers=as_cookie(cookie))
    assert replay.status_code == 401
    assert replay.json() == {"detail": "Not authenticated"}


def test_deletion_cookie_repeats_name_path_domain_secure_samesite() -> None:
    settings = CookieSettings(
        name="sid", path="/app", domain="example.test", samesite="strict", secure=True
    )
    anchor = Anchor(MemoryStore(), secret_keys=SECRET, cookie=settings)
    with TestClient(session_app(anchor), base_url="https://example.test") as client:
        client.post("/login", params={"user": "a"})
        response = client.post("/logout")
    [header] = set_cookie_headers(response)
    morsel = parse_set_cookie(header)["sid"]
    assert morsel["path"] == "/app"
    assert morsel["domain"] == "example.test"
    assert morsel["secure"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["max-age"] == "0"


def test_logout_twice_is_harmless(client: TestClient) -> None:
    cookie = login(client)
    assert client.post("/logout").status_code == 200
    second = client.post("/logout", headers=as_cookie(cookie))
    assert second.status_code == 200


def test_login_ignores_a_cookie_sent_with_the_request(
    client: TestClient, counting_store: CountingStore
) -> None:
    first = login(client, "alice")
    client.cookies.clear()
    response = client.post("/login", params={"user": "bob"}, headers=as_cookie(first))
    second = response.cookies["session"]
    assert second != first
    assert counting_store.calls["get"] == 0  # login never looked the old cookie up
    assert client.get("/me", headers=as_cookie(first)).json()["user"] == "alice"
    assert client.get("/me", headers=as_cookie(second)).json()["user"] == "bob"


def test_a_steady_request_makes_one_store_call_and_no_writes(
    client: TestClient, counting_store: CountingStore
) -> None:
    login(client)
    counting_store.calls.clear()
    for _ in range(5):
        response = client.get("/me")
        assert response.status_code == 200
        assert set_cookie_headers(response) == []
    assert dict(counting_store.calls) == {"get": 5}


def test_idle_timeout_expires_the_session(client: TestClient, clock: MovableClock) -> None:
    login(client)
    clock.advance(timedelta(hours=2))
    assert client.get("/me").status_code == 401


def test_refresh_happens_only_past_half_the_idle_window(
    client: TestClient, clock: MovableClock, counting_store: CountingStore
) -> None:
    login(client)
    counting_store.calls.clear()
    clock.advance(timedelta(minutes=59))
    response = client.get("/me")
    assert response.status_code == 200
    assert "update" not in counting_store.calls
    assert set_cookie_headers(response) == []

    clock.advance(timedelta(minutes=2))  # 61 minutes in: past half of 2 hours
    response = client.get("/me")
    assert response.status_code == 200
    assert counting_store.calls["update"] == 1
    [refreshed] = set_cookie_headers(response)
    assert int(parse_set_cookie(refreshed)["session"]["max-age"]) == 2 * 3600

    clock.advance(timedelta(minutes=59))
    assert client.get("/me").status_code == 200
    assert counting_store.calls["update"] == 1  # at most once per half window

    clock.advance(timedelta(minutes=2))  # 2h01 after login, 1h01 after the refresh
    assert client.get("/me").status_code == 200
    assert counting_store.calls["update"] == 2


def test_absolute_timeout_ends_an_active_session(client: TestClient, clock: MovableClock) -> None:
    login(client)
    for _ in range(23):  # active every 61 minutes: the idle deadline keeps sliding
        clock.advance(timedelta(minutes=61))
        assert client.get("/me").status_code == 200
    clock.advance(timedelta(minutes=61))  # 24h24 after login: past the absolute timeout
    assert client.get("/me").status_code == 401


def test_refresh_never_extends_past_the_absolute_timeout(
    counting_store: CountingStore, clock: MovableClock
) -> None:
    anchor = Anchor(
        counting_store,
        secret_keys=SECRET,
        idle_timeout=timedelta(hours=2),
        absolute_timeout=timedelta(hours=3),
        clock=clock,
    )
    with TestClient(session_app(anchor), base_url="https://testserver") as client:
        login(client)
        clock.advance(timedelta(hours=1, minutes=30))
        assert client.get("/me").status_code == 200
        [record] = counting_store._rows.values()
        assert record.expires_at == clock.now + timedelta(minutes=90)  # capped at 3 h
        clock.advance(timedelta(minutes=90))
        assert client.get("/me").status_code == 401


def test_session_deleted_between_read_and_refresh_is_not_resurrected(
    clock: MovableClock,
) -> None:
    class LogoutDuringRefresh(CountingStore):
        async def get(self, session_id: str) -> SessionRecord | None:
            record = await super().get(session_id)
            await self.delete(session_id)  # another worker logs out meanwhile
            return record

    racing = LogoutDuringRefresh()
    anchor = Anchor(racing, secret_keys=SECRET, idle_timeout=timedelta(hours=2), clock=clock)
    with TestClient(session_app(anchor), base_url="https://testserver") as client:
        login(client)
        clock.advance(timedelta(hours=1, minutes=30))
        assert client.get("/me").status_code == 401
    assert len(racing) == 0


def test_logout_all_ends_every_session_of_the_user(client: TestClient) -> None:
    first = login(client, "alice")
    client.cookies.clear()
    second = login(client, "alice")
    client.cookies.clear()
    other = login(client, "bob")
    client.cookies.clear()
    listed = client.get("/sessions", headers=as_cookie(first)).json()
    assert len(listed) == 2
    ended = client.post("/logout-all", headers=as_cookie(second)).json()
    assert ended == {"ended": 2}
    assert client.get("/me", headers=as_cookie(first)).status_code == 401
    assert client.get("/me", headers=as_cookie(second)).status_code == 401
    assert client.get("/me", headers=as_cookie(other)).status_code == 200


def test_optional_session_is_none_for_anonymous_and_bad_cookies(client: TestClient) -> None:
    assert client.get("/maybe").json() == {"user": None}
    assert client.get("/maybe", headers=as_cookie("garbage")).json() == {"user": None}
    login(client)
    assert client.get("/maybe").json() == {"user": "alice"}


class DownStore(MemoryStore):
    """A store whose backing service is down: every call raises StoreUnavailable."""

    def __getattribute__(self, name: str) -> object:
        if name in {"create", "get", "update", "delete", "delete_user", "list_user"}:

            async def down(*args: object, **kwargs: object) -> None:
                raise StoreUnavailable("connection refused")

            return down
        return super().__getattribute__(name)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me"),
        ("GET", "/maybe"),
        ("POST", "/login?user=alice"),
        ("POST", "/logout"),
    ],
)
def test_store_unavailable_is_503_with_retry_after(method: str, path: str) -> None:
    healthy = Anchor(MemoryStore(), secret_keys=SECRET)
    with TestClient(session_app(healthy), base_url="https://testserver") as client:
        cookie = login(client)
    anchor = Anchor(DownStore(), secret_keys=SECRET, retry_after=7)
    with TestClient(session_app(anchor), base_url="https://testserver") as client:
        response = client.request(method, path, headers=as_cookie(cookie))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"


def test_store_calls_in_helpers_also_give_503() -> None:
    anchor = Anchor(DownStore(), secret_keys=SECRET)
    app = session_app(anchor)

    @app.get("/all/{user}")
    async def all_sessions(user: str) -> int:
        return len(await anchor.sessions(user)) + await anchor.logout_all(user)

    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/all/alice").status_code == 503


def test_cookie_is_a_security_scheme_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["AnchorSession"]
    assert scheme == {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "Signed session cookie set by the login route.",
    }
    assert schema["paths"]["/me"]["get"]["security"] == [{"AnchorSession": []}]


def test_login_refuses_a_non_string_user_id(anchor: Anchor) -> None:
    import anyio
    from fastapi import Response

    with pytest.raises(TypeError, match="user_id must be a non-empty str"):
        anyio.run(anchor.login, Response(), 42)


def test_cleanup_deletes_expired_sessions_in_batches(clock: MovableClock) -> None:
    store = CountingStore()
    anchor = Anchor(store, secret_keys=SECRET, idle_timeout=timedelta(hours=1), clock=clock)
    with TestClient(session_app(anchor), base_url="https://testserver") as client:
        for i in range(25):
            client.post("/login", params={"user": f"u{i}"})
        clock.advance(timedelta(minutes=30))
        client.post("/login", params={"user": "live"})
        clock.advance(timedelta(minutes=31))
    import anyio

    assert anyio.run(lambda: anchor.cleanup(batch_size=10)) == 25
    assert len(store) == 1
