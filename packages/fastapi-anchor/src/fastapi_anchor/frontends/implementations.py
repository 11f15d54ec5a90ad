"""`SessionCookie` and `CookieParameters`, the original README's cookie frontend.

A thin layer over `fastapi_anchor.cookies`: the same strict cookie reading and HMAC-SHA256
signing as `Anchor`, carrying the application's own session id (a UUID).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal
from uuid import UUID

from fastapi import HTTPException, Request, Response
from fastapi.openapi.models import APIKey, APIKeyIn
from fastapi.security.base import SecurityBase
from pydantic import BaseModel

from fastapi_anchor.cookies import (
    KEY_COMMAND,
    MIN_SECRET_LENGTH,
    CookieSettings,
    CookieSigner,
    read_cookie,
    weak_key_reason,
)
from fastapi_anchor.frontends.session_frontend import FrontendError, SessionFrontend

__all__ = ["CookieParameters", "InsecureSecretWarning", "SessionCookie"]


class InsecureSecretWarning(UserWarning):
    """The secret key is short or guessable (an example key); whoever guesses it forges cookies."""


class CookieParameters(BaseModel):
    """Attributes of the session cookie (fastapi-sessions' defaults)."""

    max_age: int = 14 * 24 * 60 * 60
    path: str = "/"
    domain: str | None = None
    secure: bool = False
    httponly: bool = True
    samesite: Literal["lax", "strict", "none"] = "lax"


def _state_ids(request: Request) -> dict[str, Any]:
    ids: dict[str, Any] | None = getattr(request.state, "session_ids", None)
    if ids is None:
        ids = {}
        request.state.session_ids = ids
    return ids


class SessionCookie(SecurityBase, SessionFrontend[UUID]):
    """Reads and writes a signed cookie holding the session's UUID.

    Use it as a dependency before the matching `SessionVerifier` (same `identifier`). A
    missing, tampered, oversized or duplicated cookie is a `FrontendError`, raised as 401 when
    `auto_error` is true, and never reaches the backend.

    Args:
        cookie_name: Name of the cookie.
        identifier: Shared with the verifier that reads this cookie's session id.
        secret_key: Signing key, or a list of keys oldest first (the last signs).
        cookie_params: Cookie attributes.
        auto_error: Raise 401 instead of returning a `FrontendError`.
        scheme_name: Name of the security scheme in OpenAPI.
    """

    def __init__(
        self,
        *,
        cookie_name: str,
        identifier: str,
        secret_key: str | list[str],
        cookie_params: CookieParameters | None = None,
        auto_error: bool = False,
        scheme_name: str | None = None,
    ) -> None:
        params = cookie_params if cookie_params is not None else CookieParameters()
        self.settings = CookieSettings(
            name=cookie_name,
            path=params.path,
            domain=params.domain,
            max_age=params.max_age,
            secure=params.secure,
            httponly=params.httponly,
            samesite=params.samesite,
        )
        keys = [secret_key] if isinstance(secret_key, str) else list(secret_key)
        if any(len(k) < MIN_SECRET_LENGTH for k in keys):
            warnings.warn(
                f"secret_key is shorter than {MIN_SECRET_LENGTH} characters; use a random one "
                f"({KEY_COMMAND})",
                InsecureSecretWarning,
                stacklevel=2,
            )
        for weakness in filter(None, map(weak_key_reason, keys)):
            warnings.warn(
                f"secret_key can be guessed: {weakness}; use a random one ({KEY_COMMAND})",
                InsecureSecretWarning,
                stacklevel=2,
            )
        # 0.1 accepted any key: warn rather than refuse, so existing apps keep starting.
        self.signer = CookieSigner(
            keys, salt="fastapi-anchor.compat-cookie", min_length=1, refuse_weak=False
        )
        self._identifier = identifier
        self.auto_error = auto_error
        self.model = APIKey(**{"in": APIKeyIn.cookie}, name=cookie_name)  # type: ignore[arg-type]
        self.scheme_name = scheme_name or type(self).__name__

    @property
    def identifier(self) -> str:
        """Name shared with the verifier."""
        return self._identifier

    async def __call__(self, request: Request) -> UUID | FrontendError:
        """Return the verified session id, or a `FrontendError` (401 if `auto_error`)."""
        result = self._read(request)
        _state_ids(request)[self._identifier] = result
        if isinstance(result, FrontendError) and self.auto_error:
            raise HTTPException(401, detail=str(result))
        return result

    def _read(self, request: Request) -> UUID | FrontendError:
        value = read_cookie(request.headers.getlist("cookie"), self.settings.name)
        if value is None:
            return FrontendError("No valid session cookie")
        verified = self.signer.unsign(value)
        if verified is None:
            return FrontendError("Invalid session cookie")
        try:
            return UUID(verified[0])
        except ValueError:
            return FrontendError("Invalid session cookie")

    def attach_to_response(self, response: Response, session_id: UUID) -> None:
        """Set the signed cookie carrying `session_id` on `response`."""
        value = self.signer.sign(str(session_id))
        self.settings.set_on(response, value, max_age=self.settings.max_age)

    def delete_from_response(self, response: Response) -> None:
        """Add a Set-Cookie that deletes the cookie, repeating its attributes."""
        self.settings.delete_from(response)
