"""Sensitive actions: re-authentication, token rotation, credential change, remember-me and
the origin check on login."""

# No `from __future__ import annotations`: FastAPI must see the routes' `Depends`.

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Response

from fastapi_anchor import Anchor, MemoryStore, SessionRecord
from fastapi_anchor.anchor import REAUTHENTICATION_REQUIRED

from anchor_support import SECRET, T0, MovableClock

pytestmark = pytest.mark.anyio

EVIL = {"origin": "https://evil.example"}


def sensitive_app(anchor: Anchor) -> FastAPI:
    app = FastAPI()
    current = Annotated[SessionRecord, Depends(anchor.session)]
    recent = Annotated[SessionRecord, Depends(anchor.recent_session(timedelta(minutes=10)))]

    @app.post("/login", dependencies=[Depends(anchor.check_origin)])
    async def login(response: Response, user: str = "alice", remember: bool = True) -> dict:
        await anchor.login(response, user, {"role": "reader"}, persistent=remember)
        return {"ok": True}

    @app.get("/me")
    async def me(session: current) -> dict[str, Any]:
        return {
            "user": session.user_id,
            "data": dict(session.data),
            "created_at": session.created_at.isoformat(),
            "authenticated_at": session.authenticated_at.isoformat(),
            "expires_at": session.expires_at.isoformat(),
        }

    @app.post("/settings/email")
    async def change_email(session: recent) -> dict[str, str]:
        return {"changed_by": session.user_id}

    @app.post("/confirm-password")
    async def confirm(response: Response, session: current, password: str) -> dict[str, bool]:
        if password != "right":
            raise HTTPException(400, "wrong password")
        await anchor.reauthenticated(response, session)
        return {"ok": True}

    @app.post("/promote")
    async def promote(response: Response, session: current) -> dict[str, bool]:
        await anchor.rotate(response, session)
        return {"ok": True}

    @app.post("/password")
    async def change_password(session: recent, response: Response) -> dict[str, bool]:
        await anchor.credentials_changed(response, session)
        return {"ok": True}

    return app


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def anchor(store: MemoryStore, clock: MovableClock) -> Anchor:
    return Anchor(store, secret_keys=SECRET, clock=clock, idle_timeout=timedelta(hours=2))


@pytest.fixture
async def client(anchor: Anchor) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sensitive_app(anchor))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


async def login(client: httpx.AsyncClient, user: str = "alice", **params: Any) -> str:
    response = await client.post("/login", params={"user": user, **params})
    assert response.status_code == 200
    cookie = client.cookies["session"]
    client.cookies.clear()
    return cookie


def sending(cookie: str) -> dict[str, str]:
    return {"cookie": f"session={cookie}"}


def new_cookie(response: httpx.Response) -> str:
    value = response.headers["set-cookie"].split(";", 1)[0]
    assert value.startswith("session=")
    return value.removeprefix("session=")


# --- Re-authentication --------------------------------------------------------------------


async def test_a_stale_login_must_reauthenticate(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    cookie = await login(client)
    assert (await client.post("/settings/email", headers=sending(cookie))).status_code == 200
    clock.advance(timedelta(minutes=11))
    stale = await client.post("/settings/email", headers=sending(cookie))
    assert stale.status_code == 403
    assert stale.headers["x-anchor-reason"] == REAUTHENTICATION_REQUIRED
    assert stale.json()["detail"]["reason"] == REAUTHENTICATION_REQUIRED
    assert stale.json()["detail"]["max_age_seconds"] == 600

    wrong = await client.post("/confirm-password?password=nope", headers=sending(cookie))
    assert wrong.status_code == 400
    confirmed = await client.post("/confirm-password?password=right", headers=sending(cookie))
    assert confirmed.status_code == 200
    fresh = new_cookie(confirmed)
    assert fresh != cookie
    assert (await client.get("/me", headers=sending(cookie))).status_code == 401
    assert (await client.post("/settings/email", headers=sending(fresh))).status_code == 200

    # Measured from the re-authentication, not from the login 20 minutes ago.
    clock.advance(timedelta(minutes=9))
    assert (await client.post("/settings/email", headers=sending(fresh))).status_code == 200
    me = (await client.get("/me", headers=sending(fresh))).json()
    assert me["created_at"] == T0.isoformat()
    assert me["authenticated_at"] == (T0 + timedelta(minutes=11)).isoformat()
    client.cookies.clear()
    assert (await client.post("/settings/email")).status_code == 401


async def test_reauthentication_is_refused_cross_site(client: httpx.AsyncClient) -> None:
    cookie = await login(client)
    headers = {**sending(cookie), **EVIL}
    assert (await client.post("/settings/email", headers=headers)).status_code == 403
    refused = await client.post("/confirm-password?password=right", headers=headers)
    assert refused.status_code == 403
    assert "x-anchor-reason" not in refused.headers


# --- Rotation ------------------------------------------------------------------------------


async def test_rotation_ends_the_old_token_and_keeps_the_rest(
    client: httpx.AsyncClient, store: MemoryStore, clock: MovableClock
) -> None:
    cookie = await login(client)
    before = (await client.get("/me", headers=sending(cookie))).json()
    clock.advance(timedelta(minutes=3))
    rotated = await client.post("/promote", headers=sending(cookie))
    assert rotated.status_code == 200
    fresh = new_cookie(rotated)
    assert (await client.get("/me", headers=sending(cookie))).status_code == 401
    after = (await client.get("/me", headers=sending(fresh))).json()
    assert after == before  # user, data, created_at, authenticated_at, idle deadline
    assert len(store) == 1


class InterleavingStore(MemoryStore):
    """A MemoryStore that lets other tasks run before each create and delete."""

    async def create(self, record: SessionRecord) -> None:
        await asyncio.sleep(0)
        await super().create(record)

    async def delete(self, session_id: str) -> bool:
        await asyncio.sleep(0)
        return await super().delete(session_id)


@pytest.mark.parametrize("order", ["interleaved", "one after the other"])
async def test_concurrent_rotations_leave_exactly_one_session(
    clock: MovableClock, order: str
) -> None:
    from fastapi import Response as Plain

    store = InterleavingStore()
    anchor = Anchor(store, secret_keys=SECRET, clock=clock)
    session = await anchor.login(Plain(), "alice")
    responses = [Plain(), Plain()]

    async def rotate(response: Plain) -> SessionRecord | None:
        try:
            return await anchor.rotate(response, session)
        except HTTPException as exc:
            return None if exc.status_code == 401 else exc  # type: ignore[return-value]

    if order == "interleaved":
        results = await asyncio.gather(*(rotate(r) for r in responses))
    else:
        results = [await rotate(r) for r in responses]
    assert not [r for r in results if isinstance(r, HTTPException)], results
    winners = [r for r in results if r is not None]
    assert len(winners) == 1, results
    [live] = await store.list_user("alice")
    assert live.id == winners[0].id
    cookies = [r.headers.get("set-cookie") for r in responses]
    assert sum(c is not None for c in cookies) == 1, "only the winner sets a cookie"


async def test_rotating_a_logged_out_session_brings_nothing_back(
    anchor: Anchor, store: MemoryStore
) -> None:
    from fastapi import Response as Plain

    session = await anchor.login(Plain(), "alice")
    await anchor.logout(Plain(), session)
    with pytest.raises(HTTPException) as raised:
        await anchor.rotate(Plain(), session)
    assert raised.value.status_code == 401
    assert len(store) == 0


async def test_changing_credentials_ends_the_others_and_rotates(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    laptop = await login(client)
    phone = await login(client)
    bob = await login(client, "bob")
    changed = await client.post("/password", headers=sending(laptop))
    assert changed.status_code == 200
    fresh = new_cookie(changed)
    for old in (laptop, phone):
        assert (await client.get("/me", headers=sending(old))).status_code == 401
    assert (await client.get("/me", headers=sending(fresh))).status_code == 200
    assert (await client.get("/me", headers=sending(bob))).status_code == 200


# --- Remember me ---------------------------------------------------------------------------


async def test_a_browser_session_cookie_has_no_lifetime_and_still_expires(
    client: httpx.AsyncClient, clock: MovableClock
) -> None:
    response = await client.post("/login", params={"remember": "false"})
    header = response.headers["set-cookie"].lower()
    assert "max-age" not in header
    assert "expires" not in header
    assert "httponly" in header
    cookie = client.cookies["session"]
    client.cookies.clear()

    clock.advance(timedelta(hours=1, minutes=30))  # past half the idle window: a refresh
    refreshed = await client.get("/me", headers=sending(cookie))
    assert refreshed.status_code == 200
    header = refreshed.headers["set-cookie"].lower()
    assert "max-age" not in header
    assert "expires" not in header

    clock.advance(timedelta(hours=2, seconds=1))  # idle past the deadline
    assert (await client.get("/me", headers=sending(cookie))).status_code == 401

    remembered = await client.post("/login")
    assert "max-age=7200" in remembered.headers["set-cookie"].lower()


async def test_rotation_keeps_the_cookie_kind(client: httpx.AsyncClient) -> None:
    cookie = await login(client, remember="false")
    rotated = await client.post("/promote", headers=sending(cookie))
    assert "max-age" not in rotated.headers["set-cookie"].lower()


# --- Login CSRF ----------------------------------------------------------------------------


async def test_a_cross_site_login_is_refused(client: httpx.AsyncClient, store: MemoryStore) -> None:
    refused = await client.post("/login", headers=EVIL)
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers
    assert len(store) == 0
    referred = await client.post("/login", headers={"referer": "https://evil.example/form"})
    assert referred.status_code == 403
    own = await client.post("/login", headers={"origin": "https://testserver"})
    assert own.status_code == 200
    fetched = await client.post("/login", headers={"sec-fetch-site": "cross-site"})
    assert fetched.status_code == 403


def test_a_non_positive_max_age_is_refused() -> None:
    from fastapi_anchor import ConfigurationError

    anchor = Anchor(MemoryStore(), secret_keys=SECRET)
    with pytest.raises(ConfigurationError, match="max_age"):
        anchor.recent_session(timedelta(0))
