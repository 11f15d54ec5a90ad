"""WebSocket sessions: the handshake checked like an HTTP request, sockets closed when their
session ends, and nothing written by a chatty socket."""

# No `from __future__ import annotations`: FastAPI must see the routes' `Depends`.

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Response, WebSocket, WebSocketDisconnect
from fastapi.testclient import TestClient

from fastapi_anchor import Anchor, SessionRecord, StoreRejected, StoreUnavailable

from anchor_support import SECRET, CountingStore

SAME_SITE = {"origin": "https://testserver"}
LIVE = "wss://testserver/live"  # the TestClient's default socket URL is ws://, not wss://
MAYBE = "wss://testserver/maybe"


class SwitchableStore(CountingStore):
    """A counting MemoryStore whose `get` can be made to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.failure: Exception | None = None

    async def get(self, session_id: str) -> SessionRecord | None:
        if self.failure is not None:
            raise self.failure
        return await super().get(session_id)


def socket_app(anchor: Anchor) -> FastAPI:
    app = FastAPI()
    current = Annotated[SessionRecord, Depends(anchor.session)]

    @app.post("/login")
    async def login(response: Response, user: str = "alice") -> dict[str, bool]:
        await anchor.login(response, user)
        return {"ok": True}

    @app.post("/logout")
    async def logout(response: Response, session: current) -> dict[str, bool]:
        await anchor.logout(response, session)
        return {"ok": True}

    @app.post("/logout-others")
    async def logout_others(session: current) -> dict[str, int]:
        return {"ended": await anchor.logout_all(session.user_id, keep=session)}

    @app.post("/rotate")
    async def rotate(response: Response, session: current) -> dict[str, bool]:
        await anchor.rotate(response, session)
        return {"ok": True}

    @app.websocket("/live")
    async def live(
        websocket: WebSocket,
        session: Annotated[SessionRecord, Depends(anchor.websocket_session)],
    ) -> None:
        await websocket.accept()
        count = 0
        try:
            while True:
                await websocket.receive_text()
                count += 1
                await websocket.send_json({"user": session.user_id, "count": count})
        except WebSocketDisconnect:
            pass

    @app.websocket("/maybe")
    async def maybe(
        websocket: WebSocket,
        session: Annotated[SessionRecord | None, Depends(anchor.optional_websocket_session)],
    ) -> None:
        await websocket.accept()
        await websocket.send_json({"user": None if session is None else session.user_id})
        await websocket.close()

    return app


@pytest.fixture
def store() -> SwitchableStore:
    return SwitchableStore()


@pytest.fixture
def anchor(store: SwitchableStore) -> Anchor:
    return Anchor(store, secret_keys=SECRET)


@pytest.fixture
def client(anchor: Anchor) -> Iterator[TestClient]:
    with TestClient(socket_app(anchor), base_url="https://testserver") as c:
        yield c


def login(client: TestClient, user: str = "alice") -> dict[str, str]:
    assert client.post("/login", params={"user": user}).status_code == 200
    cookie = client.cookies["session"]
    client.cookies.clear()
    return {"cookie": f"session={cookie}"}


def refused(client: TestClient, headers: dict[str, str], path: str = LIVE) -> Any:
    connect = client.websocket_connect
    with pytest.raises(WebSocketDisconnect) as closed, connect(path, headers=headers):
        pass
    return closed.value


def closed_while_open(socket: Any) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_text()
    return closed.value


def test_the_cookie_authenticates_the_socket_and_messages_write_nothing(
    client: TestClient, store: SwitchableStore
) -> None:
    headers = login(client)
    store.calls.clear()
    with client.websocket_connect(LIVE, headers={**headers, **SAME_SITE}) as socket:
        for n in range(1, 51):
            socket.send_text("ping")
            assert socket.receive_json() == {"user": "alice", "count": n}
    assert store.calls == {"get": 1}, "a socket reads its session once and writes nothing"


def test_handshakes_without_a_valid_session_are_refused(client: TestClient, anchor: Anchor) -> None:
    assert refused(client, SAME_SITE).code == 1008
    forged = anchor.signer.sign("not-a-token-anyone-was-given")
    assert refused(client, {"cookie": f"session={forged}", **SAME_SITE}).code == 1008
    headers = login(client)
    assert refused(client, {**headers, **SAME_SITE, "cookie": headers["cookie"] + "x"}).code == (
        1008
    )
    with client.websocket_connect(MAYBE, headers=SAME_SITE) as socket:
        assert socket.receive_json() == {"user": None}
    with client.websocket_connect(MAYBE, headers={**headers, **SAME_SITE}) as socket:
        assert socket.receive_json() == {"user": "alice"}


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://testserver", "https://testserver.evil"]
)
def test_cross_site_handshakes_are_refused(client: TestClient, origin: str) -> None:
    headers = login(client)
    closed = refused(client, {**headers, "origin": origin})
    assert (closed.code, closed.reason) == (1008, "Cross-site WebSocket refused")


def test_trusted_origins_and_non_browser_clients_are_allowed(store: SwitchableStore) -> None:
    anchor = Anchor(store, secret_keys=SECRET, trusted_origins=["https://app.example"])
    with TestClient(socket_app(anchor), base_url="https://testserver") as client:
        headers = login(client)
        for extra in ({"origin": "https://app.example"}, {}):  # {}: no Origin, not a browser
            with client.websocket_connect(LIVE, headers={**headers, **extra}) as socket:
                socket.send_text("ping")
                assert socket.receive_json()["user"] == "alice"


@pytest.mark.parametrize(
    ("failure", "code"),
    [(StoreUnavailable("connection refused"), 1013), (StoreRejected("permission denied"), 1011)],
)
def test_a_failing_store_closes_the_handshake_with_a_code(
    client: TestClient, store: SwitchableStore, failure: Exception, code: int
) -> None:
    headers = login(client)
    store.failure = failure
    assert refused(client, {**headers, **SAME_SITE}).code == code


@pytest.mark.parametrize(
    ("ending", "reason"),
    [("/logout", "Logged out"), ("/rotate", "Session rotated")],
)
def test_ending_the_session_closes_its_socket(
    client: TestClient, anchor: Anchor, ending: str, reason: str
) -> None:
    headers = login(client)
    with client.websocket_connect(LIVE, headers={**headers, **SAME_SITE}) as socket:
        socket.send_text("ping")
        socket.receive_json()
        assert client.post(ending, headers=headers).status_code == 200
        closed = closed_while_open(socket)
        assert (closed.code, closed.reason) == (1008, reason)
    assert len(anchor.sockets) == 0


def test_revoke_and_logout_others_close_only_the_ended_sockets(
    client: TestClient, anchor: Anchor
) -> None:
    laptop, phone, tablet = login(client), login(client), login(client)
    bob = login(client, "bob")
    with (
        client.websocket_connect(LIVE, headers={**laptop, **SAME_SITE}) as laptop_socket,
        client.websocket_connect(LIVE, headers={**phone, **SAME_SITE}) as phone_socket,
        client.websocket_connect(LIVE, headers={**tablet, **SAME_SITE}) as tablet_socket,
        client.websocket_connect(LIVE, headers={**bob, **SAME_SITE}) as bob_socket,
    ):
        assert len(anchor.sockets) == 4
        assert client.post("/logout-others", headers=laptop).json() == {"ended": 2}
        for socket in (phone_socket, tablet_socket):
            assert closed_while_open(socket).reason == "Logged out everywhere"
        for socket, user in ((laptop_socket, "alice"), (bob_socket, "bob")):
            socket.send_text("still here?")
            assert socket.receive_json()["user"] == user


def test_revoke_by_handle_closes_that_socket(client: TestClient, anchor: Anchor) -> None:
    headers = login(client)
    with client.websocket_connect(LIVE, headers={**headers, **SAME_SITE}) as socket:
        [device] = client.portal.call(anchor.sessions, "alice")  # type: ignore[union-attr]
        assert client.portal.call(anchor.revoke, "alice", device.handle)  # type: ignore[union-attr]
        assert closed_while_open(socket).reason == "Session revoked"


def test_expiry_closes_the_socket_without_a_timer_per_socket(store: SwitchableStore) -> None:
    anchor = Anchor(store, secret_keys=SECRET, idle_timeout=timedelta(seconds=1.5))
    with TestClient(socket_app(anchor), base_url="https://testserver") as client:
        first, second = login(client), login(client)
        with (
            client.websocket_connect(LIVE, headers={**first, **SAME_SITE}) as one,
            client.websocket_connect(LIVE, headers={**second, **SAME_SITE}) as two,
        ):
            started = time.monotonic()
            for socket in (one, two):
                closed = closed_while_open(socket)
                assert (closed.code, closed.reason) == (1008, "Session expired")
            assert time.monotonic() - started < 5
        assert len(anchor.sockets) == 0
