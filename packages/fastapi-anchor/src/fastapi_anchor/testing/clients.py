"""Log a test client in as any user, through the app's own `Anchor` and store.

    with TestClient(app, base_url="https://testserver") as client:
        login_client(client, anchor, "alice", {"role": "admin"})
        assert client.get("/me").status_code == 200

The session is created by `Anchor.login`, in the store the app uses, so every protected route
runs its production code path; only the login form or password check is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import Response

from fastapi_anchor.anchor import Anchor
from fastapi_anchor.store import SessionRecord

if TYPE_CHECKING:
    import httpx
    from starlette.testclient import TestClient

__all__ = ["async_login_client", "login_client"]


def _store_cookie(
    client: httpx.AsyncClient | TestClient, anchor: Anchor, response: Response
) -> None:
    name = anchor.cookie.name
    for header in response.headers.getlist("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            # No domain: the client sends it to whatever host it calls (cookiejar would store a
            # dotless host like "testserver" as "testserver.local").
            domain = anchor.cookie.domain or ""
            client.cookies.set(name, jar[name].value, domain=domain, path=anchor.cookie.path)
            return
    raise RuntimeError("Anchor.login set no session cookie")  # pragma: no cover


def login_client(
    client: TestClient,
    anchor: Anchor,
    user_id: str,
    data: Mapping[str, Any] | None = None,
) -> SessionRecord:
    """Create a session for `user_id` and give its cookie to the (sync) `TestClient`.

    Call it inside `with TestClient(app) as client:` so the session is created on the app's
    own event loop (needed by stores with a connection pool). Use an `https://` base URL: the
    cookie is Secure by default.

    Returns:
        The stored session, e.g. to `anchor.logout` it or check its id.
    """
    response = Response()
    portal = getattr(client, "portal", None)
    record: SessionRecord
    if portal is not None:
        record = portal.call(anchor.login, response, user_id, data)
    else:
        record = anyio.run(anchor.login, response, user_id, data)
    _store_cookie(client, anchor, response)
    return record


async def async_login_client(
    client: httpx.AsyncClient,
    anchor: Anchor,
    user_id: str,
    data: Mapping[str, Any] | None = None,
) -> SessionRecord:
    """Create a session for `user_id` and give its cookie to an `httpx.AsyncClient`.

    Use it with `httpx.ASGITransport(app)` and an `https://` base URL, in the test's event loop.
    """
    response = Response()
    record = await anchor.login(response, user_id, data)
    _store_cookie(client, anchor, response)
    return record
