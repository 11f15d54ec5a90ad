"""Devices over HTTP: login details, the sessions router, revoke by handle, last-seen writes."""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from fastapi_anchor import Anchor, MemoryStore, SessionRecord
from fastapi_anchor.testing import session_app

from anchor_support import SECRET, T0, CountingStore, MovableClock

pytestmark = pytest.mark.anyio

EVIL = {"origin": "https://evil.example"}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def client_for(anchor: Anchor, host: str = "203.0.113.9") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=session_app(anchor), client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def login(
    client: httpx.AsyncClient, user: str = "alice", agent: str = FIREFOX
) -> dict[str, str]:
    response = await client.post("/login", params={"user": user}, headers={"user-agent": agent})
    assert response.status_code == 200
    cookie = client.cookies["session"]
    client.cookies.clear()
    return {"cookie": f"session={cookie}"}


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def anchor(store: CountingStore, clock: MovableClock) -> Anchor:
    return Anchor(store, secret_keys=SECRET, clock=clock)


@pytest.fixture
async def client(anchor: Anchor) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(anchor) as c:
        yield c


async def test_login_records_the_client_and_the_list_shows_it(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    laptop = await login(client)
    clock.advance(timedelta(minutes=5))
    phone = await login(client, agent="Phone/1.0")
    await login(client, user="bob")

    listed = (await client.get("/sessions", headers=laptop)).json()
    assert [(s["user_agent"], s["current"]) for s in listed] == [
        ("Phone/1.0", False),  # most recently seen first
        (FIREFOX, True),
    ]
    laptop_entry = listed[1]
    assert laptop_entry["ip_address"] == "203.0.113.9"
    assert laptop_entry["persistent"] is True
    assert laptop_entry["created_at"] == laptop_entry["authenticated_at"]
    assert laptop_entry["created_at"] == laptop_entry["last_seen_at"]
    assert set(laptop_entry) == {
        "handle",
        "current",
        "created_at",
        "authenticated_at",
        "last_seen_at",
        "expires_at",
        "ip_address",
        "user_agent",
        "persistent",
    }
    assert all(re.fullmatch("[0-9a-f]{16}", s["handle"]) for s in listed)
    from_phone = (await client.get("/sessions", headers=phone)).json()
    assert [s["current"] for s in from_phone] == [True, False]


async def test_addresses_are_canonical_and_odd_peers_give_none(anchor: Anchor) -> None:
    cases = {
        "2001:0DB8:0000:0000:0000:0000:0000:0001": "2001:db8::1",
        "fe80::1%eth0": "fe80::1",
        "testclient": None,  # not an address: Starlette's TestClient names its peer so
    }
    for host, expected in cases.items():
        async with client_for(anchor, host) as client:
            headers = await login(client, user=f"u-{len(host)}", agent="")
            [entry] = (await client.get("/sessions", headers=headers)).json()
            assert entry["ip_address"] == expected, host
            assert entry["user_agent"] is None  # an empty User-Agent is none


async def test_a_long_user_agent_is_cut_and_explicit_values_win(
    client: httpx.AsyncClient, anchor: Anchor
) -> None:
    headers = await login(client, agent="x" * 5000)
    [entry] = (await client.get("/sessions", headers=headers)).json()
    assert len(entry["user_agent"]) == 512

    record = await anchor.login(
        httpx_response(), "carol", ip_address="192.0.2.1", user_agent="cli/2"
    )
    assert (record.ip_address, record.user_agent) == ("192.0.2.1", "cli/2")
    bare = await anchor.login(httpx_response(), "carol")
    assert (bare.ip_address, bare.user_agent) == (None, None)


def httpx_response() -> Any:
    from fastapi import Response

    return Response()


async def test_delete_by_handle_ends_that_session_only(client: httpx.AsyncClient) -> None:
    laptop = await login(client)
    phone = await login(client, agent="Phone/1.0")
    bob = await login(client, user="bob")
    [phone_entry] = [
        s for s in (await client.get("/sessions", headers=laptop)).json() if not s["current"]
    ]
    [bob_entry] = (await client.get("/sessions", headers=bob)).json()

    gone = await client.delete(f"/sessions/{phone_entry['handle']}", headers=laptop)
    assert gone.status_code == 204
    assert (await client.get("/me", headers=phone)).status_code == 401
    assert (await client.get("/me", headers=laptop)).status_code == 200
    again = await client.delete(f"/sessions/{phone_entry['handle']}", headers=laptop)
    assert again.status_code == 404

    # Another user's handle answers exactly like an unknown one, and ends nothing.
    foreign = await client.delete(f"/sessions/{bob_entry['handle']}", headers=laptop)
    unknown = await client.delete(f"/sessions/{'0' * 16}", headers=laptop)
    assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json())
    assert foreign.status_code == 404
    assert (await client.get("/me", headers=bob)).status_code == 200
    assert (await client.delete("/sessions/not-a-handle", headers=laptop)).status_code == 422


async def test_ending_the_current_session_clears_its_cookie(client: httpx.AsyncClient) -> None:
    laptop = await login(client)
    [entry] = (await client.get("/sessions", headers=laptop)).json()
    response = await client.delete(f"/sessions/{entry['handle']}", headers=laptop)
    assert response.status_code == 204
    assert "max-age=0" in response.headers["set-cookie"].lower()
    assert (await client.get("/me", headers=laptop)).status_code == 401


async def test_a_handle_is_not_a_credential(client: httpx.AsyncClient, anchor: Anchor) -> None:
    laptop = await login(client)
    [entry] = (await client.get("/sessions", headers=laptop)).json()
    forged = anchor.signer.sign(entry["handle"])
    assert (await client.get("/me", headers={"cookie": f"session={forged}"})).status_code == 401


async def test_logout_others_keeps_the_current_session(client: httpx.AsyncClient) -> None:
    laptop = await login(client)
    others = [await login(client, agent=f"Device/{n}") for n in range(3)]
    bob = await login(client, user="bob")
    response = await client.post("/sessions/logout-others", headers=laptop)
    assert response.json() == {"ended": 3}
    assert (await client.get("/me", headers=laptop)).status_code == 200
    for headers in others:
        assert (await client.get("/me", headers=headers)).status_code == 401
    assert (await client.get("/me", headers=bob)).status_code == 200


async def test_device_routes_refuse_cross_site_requests(client: httpx.AsyncClient) -> None:
    laptop = await login(client)
    phone = await login(client, agent="Phone/1.0")
    [entry] = [s for s in (await client.get("/sessions", headers=laptop)).json() if s["current"]]
    headers = {**laptop, **EVIL}
    assert (await client.delete(f"/sessions/{entry['handle']}", headers=headers)).status_code == 403
    assert (await client.post("/sessions/logout-others", headers=headers)).status_code == 403
    assert (await client.get("/me", headers=phone)).status_code == 200
    assert (await client.get("/sessions")).status_code == 401


async def test_revoke_and_logout_all_keep_on_the_anchor(anchor: Anchor) -> None:
    alice = [await anchor.login(httpx_response(), "alice") for _ in range(3)]
    bob = await anchor.login(httpx_response(), "bob")
    assert await anchor.revoke("alice", bob.id[:16]) is False
    assert await anchor.revoke("alice", bob.id) is False
    assert await anchor.revoke("alice", alice[0].id[:8]) is False  # shorter than a handle
    assert await anchor.revoke("alice", alice[0].id) is True  # a whole stored id works too
    assert await anchor.logout_all("alice", keep=alice[1]) == 1
    assert [d.current for d in await anchor.sessions("alice", current=alice[1])] == [True]
    assert len(await anchor.sessions("bob")) == 1


# --- Last seen -----------------------------------------------------------------------------


async def test_last_seen_is_written_once_per_resolution(
    client: httpx.AsyncClient, store: CountingStore, clock: MovableClock
) -> None:
    laptop = await login(client)
    store.calls.clear()
    for _ in range(6):  # ten-minute steps: within the hour, reads only
        clock.advance(timedelta(minutes=10))
        assert (await client.get("/me", headers=laptop)).status_code == 200
    assert store.calls == {"get": 6, "update": 1}  # the sixth step reaches the hour
    [entry] = (await client.get("/sessions", headers=laptop)).json()
    assert datetime.fromisoformat(entry["last_seen_at"]) == T0 + timedelta(hours=1)
    store.calls.clear()
    assert (await client.get("/me", headers=laptop)).status_code == 200
    assert store.calls == {"get": 1}


async def test_a_refresh_writes_last_seen_in_the_same_update(clock: MovableClock) -> None:
    store = RecordingStore()
    anchor = Anchor(store, secret_keys=SECRET, clock=clock, idle_timeout=timedelta(hours=4))
    async with client_for(anchor) as client:
        headers = await login(client)
        clock.advance(timedelta(hours=3))  # past half the idle window and the hour
        assert (await client.get("/me", headers=headers)).status_code == 200
    [(_, changes)] = store.updates
    assert changes == {
        "expires_at": clock.now + timedelta(hours=4),
        "data": None,
        "last_seen_at": clock.now,
        "authenticated_at": None,
    }


async def test_a_day_of_steady_requests_writes_once_an_hour(
    client: httpx.AsyncClient, store: CountingStore, clock: MovableClock
) -> None:
    """The write rate the docs quote: a request every 10 s for 24 h, default settings."""
    headers = await login(client)
    store.calls.clear()
    requests = 24 * 360
    for _ in range(requests):
        clock.advance(timedelta(seconds=10))
        assert (await client.get("/me", headers=headers)).status_code == 200
    assert store.calls["get"] == requests
    assert store.calls["update"] == 24


async def test_no_resolution_writes_only_refreshes(clock: MovableClock) -> None:
    store = CountingStore()
    anchor = Anchor(store, secret_keys=SECRET, clock=clock, last_seen_resolution=None)
    async with client_for(anchor) as client:
        headers = await login(client)
        store.calls.clear()
        for _ in range(48):
            clock.advance(timedelta(hours=1))
            assert (await client.get("/me", headers=headers)).status_code == 200
    assert store.calls == {"get": 48}


class RecordingStore(MemoryStore):
    """Records the arguments of every update."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[tuple[str, dict[str, Any]]] = []

    async def update(
        self,
        session_id: str,
        *,
        expires_at: datetime | None = None,
        data: Any = None,
        last_seen_at: datetime | None = None,
        authenticated_at: datetime | None = None,
    ) -> bool:
        changes = {
            "expires_at": expires_at,
            "data": data,
            "last_seen_at": last_seen_at,
            "authenticated_at": authenticated_at,
        }
        self.updates.append((session_id, changes))
        return await super().update(session_id, **changes)


class FirstShapeStore(MemoryStore):
    """A store written for the first contract: no last_seen_at, no keep."""

    async def update(
        self, session_id: str, *, expires_at: datetime | None = None, data: Any = None
    ) -> bool:
        return await super().update(session_id, expires_at=expires_at, data=data)

    async def delete_user(self, user_id: str) -> int:  # type: ignore[override]
        return await super().delete_user(user_id)


async def test_a_first_contract_store_still_works(clock: MovableClock) -> None:
    store = FirstShapeStore()
    with pytest.warns(RuntimeWarning, match="last-seen times are not recorded"):
        anchor = Anchor(store, secret_keys=SECRET, clock=clock)
    assert anchor.last_seen_resolution is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        async with client_for(anchor) as client:
            laptop = await login(client)
            phone = await login(client, agent="Phone/1.0")
            clock.advance(timedelta(days=8))  # a refresh: the old update signature
            assert (await client.get("/me", headers=laptop)).status_code == 200
            assert (await client.post("/sessions/logout-others", headers=laptop)).json() == {
                "ended": 1
            }
            assert (await client.get("/me", headers=phone)).status_code == 401
            assert (await client.get("/me", headers=laptop)).status_code == 200


def test_a_bad_resolution_is_refused() -> None:
    from fastapi_anchor import ConfigurationError

    with pytest.raises(ConfigurationError, match="last_seen_resolution"):
        Anchor(MemoryStore(), secret_keys=SECRET, last_seen_resolution=timedelta(0))


def test_records_keep_device_fields_through_replace() -> None:
    record = SessionRecord("a" * 64, "u", T0, T0 + timedelta(hours=1), {}, ip_address="::1")
    assert record.authenticated_at == record.last_seen_at == T0
    with pytest.raises(ValueError, match="ip_address"):
        SessionRecord("a" * 64, "u", T0, T0, {}, ip_address="1" * 46)
    with pytest.raises(TypeError, match="persistent"):
        SessionRecord("a" * 64, "u", T0, T0, {}, persistent=1)  # type: ignore[arg-type]
