"""Devices: what a user sees of their sessions, and what login records about the client.

A session is shown to its user by a *handle*, the first 16 hex characters of its stored id.
The stored id is a SHA-256 of the token, so neither the handle nor the id can be turned back
into a cookie: a handle names a session without being able to use it.
"""

from __future__ import annotations

import inspect
import ipaddress
from datetime import datetime

from fastapi import Request
from pydantic import BaseModel, ConfigDict

from fastapi_anchor.store import MAX_USER_AGENT_LENGTH, SessionRecord

__all__ = ["HANDLE_LENGTH", "DeviceSession", "client_address", "client_user_agent", "handle_of"]

HANDLE_LENGTH = 16
"""Hex characters of the stored id shown as a session's handle (64 bits)."""


def handle_of(session_id: str) -> str:
    """Return the handle of the session with stored id `session_id`."""
    return session_id[:HANDLE_LENGTH]


class DeviceSession(BaseModel):
    """One of a user's sessions as their "your devices" page shows it: never its token or data.

    Attributes:
        handle: Names the session in `Anchor.revoke` and the sessions router; cannot be used
            as a credential.
        current: Whether this is the session of the request that asked.
        created_at: When the session was minted (login).
        authenticated_at: When the user last proved their credentials in it.
        last_seen_at: When it was last used, to the app's `last_seen_resolution`.
        expires_at: When it ends unless used again.
        ip_address: The client's address at login, if known.
        user_agent: The client's `User-Agent` at login, if known.
        persistent: Whether its cookie outlives the browser session.
    """

    model_config = ConfigDict(frozen=True)

    handle: str
    current: bool
    created_at: datetime
    authenticated_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip_address: str | None
    user_agent: str | None
    persistent: bool

    @classmethod
    def of(cls, record: SessionRecord, *, current: bool) -> DeviceSession:
        """Describe `record` (which must belong to the user being shown)."""
        return cls(
            handle=handle_of(record.id),
            current=current,
            created_at=record.created_at,
            authenticated_at=record.authenticated_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
            ip_address=record.ip_address,
            user_agent=record.user_agent,
            persistent=record.persistent,
        )


def client_address(request: Request) -> str | None:
    """Return the request's client IP address in canonical form, or None if it has none.

    This is the peer of the connection as the server sees it: behind a proxy, run uvicorn
    with `--proxy-headers` and `--forwarded-allow-ips` set to the proxy's address so that it
    is the client's. A peer that is not an IP address (a Unix socket, a test client's name)
    gives None; an IPv6 zone (`%eth0`) is dropped.
    """
    client = request.client
    if client is None or not client.host:
        return None
    try:
        return ipaddress.ip_address(client.host.split("%", 1)[0]).compressed
    except ValueError:
        return None


def client_user_agent(request: Request) -> str | None:
    """Return the request's `User-Agent`, cut to what the store keeps, or None."""
    agent = request.headers.get("user-agent")
    if not agent:
        return None
    return agent.replace("\x00", "")[:MAX_USER_AGENT_LENGTH]


def accepts_keyword(method: object, name: str) -> bool:
    """Whether the callable `method` takes the keyword argument `name` (or any keyword)."""
    try:
        parameters = inspect.signature(method).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
