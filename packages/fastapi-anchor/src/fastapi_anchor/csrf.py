"""Cross-site request forgery check: unsafe requests must come from the app's own origin."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request

from fastapi_anchor.exceptions import ConfigurationError

__all__ = ["SAFE_METHODS", "OriginPolicy"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class OriginPolicy:
    """Decides whether an unsafe request may act on a session.

    Browsers label cross-site requests: `Sec-Fetch-Site` where supported, else `Origin`, else
    `Referer`. A request is allowed when it is same-origin (or user-initiated, `none`), or its
    origin is in `trusted_origins`; an opaque origin (`Origin: null`, a `file:` or `data:`
    Referer) is refused. A request with none of these headers does not come from a browser
    page, so no other site can have forged it, and it is allowed.

    Args:
        trusted_origins: Other origins allowed to send unsafe requests, like
            `"https://admin.example.com"`.
    """

    def __init__(self, trusted_origins: Iterable[str] = ()) -> None:
        trusted: set[str] = set()
        for entry in trusted_origins:
            origin = _origin_of(entry)
            if origin is None or origin != entry.rstrip("/").lower():
                raise ConfigurationError(
                    f"trusted origin must be scheme://host[:port], got {entry!r}"
                )
            trusted.add(origin)
        self.trusted_origins = frozenset(trusted)

    def allows(self, request: Request) -> bool:
        """Return whether `request` passes the check (safe methods always do)."""
        if request.method in SAFE_METHODS:
            return True
        headers = request.headers
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site in ("same-origin", "none"):
            return True
        origin = headers.get("origin")
        if origin is None:
            referer = headers.get("referer")
            if referer is None:
                # No label at all: not sent by a browser page, unless Sec-Fetch-Site says so.
                return fetch_site is None
            # A Referer without an origin of its own (file:, data:, about:blank, "null") is
            # as opaque as `Origin: null`: it cannot show the request came from this app.
            origin = _origin_of(referer)
            if origin is None:
                return False
        origin = origin.lower()
        own = f"{request.url.scheme}://{request.url.netloc}".lower()
        return origin == own or origin in self.trusted_origins

    def allows_handshake(self, websocket: HTTPConnection) -> bool:
        """Return whether a WebSocket handshake may use the session cookie.

        Browsers send `Origin` on every WebSocket handshake, cross-site ones included (CORS
        does not apply to sockets), so it must be the app's own origin (`wss` counts as
        `https`) or a trusted one; `Origin: null` is refused. A handshake without `Origin`
        is not a browser's, so no other site can have started it, and it is allowed.
        """
        origin = websocket.headers.get("origin")
        if origin is None:
            return True
        scheme = {"ws": "http", "wss": "https"}.get(websocket.url.scheme, websocket.url.scheme)
        own = f"{scheme}://{websocket.url.netloc}".lower()
        origin = origin.lower()
        return origin == own or origin in self.trusted_origins
