"""`SessionVerifier`, the original README's dependency that turns a session id into its data."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import Any, Generic, TypeVar

from fastapi import HTTPException, Request

from fastapi_anchor.anchor import raise_store_failure
from fastapi_anchor.backends.session_backend import SessionBackend
from fastapi_anchor.exceptions import StoreError
from fastapi_anchor.frontends.session_frontend import FrontendError
from fastapi_anchor.logs import FailureLog

__all__ = ["SessionVerifier"]

_failure_log = FailureLog()

ID = TypeVar("ID")
SessionModel = TypeVar("SessionModel")


class SessionVerifier(ABC, Generic[ID, SessionModel]):
    """Reads the session id its frontend found, loads the data and checks it.

    Subclass it and define `identifier`, `backend`, `auto_error`, `auth_http_exception` and
    `verify_session`. Put the frontend (the `SessionCookie` with the same identifier) in the
    route's dependencies before this verifier.
    """

    @property
    @abstractmethod
    def identifier(self) -> str:
        """Identifier shared with the frontend."""

    @property
    @abstractmethod
    def backend(self) -> SessionBackend[ID, SessionModel]:
        """The backend holding the sessions."""

    @property
    @abstractmethod
    def auto_error(self) -> bool:
        """Raise `auth_http_exception` on failure rather than returning None."""

    @property
    @abstractmethod
    def auth_http_exception(self) -> HTTPException:
        """The exception raised when the session is missing or refused."""

    @abstractmethod
    def verify_session(self, model: SessionModel) -> bool | Awaitable[bool]:
        """Return whether the loaded session is acceptable (may also be `async def`)."""

    async def __call__(self, request: Request) -> SessionModel | None:
        """Return the session data of the request (or raise `auth_http_exception`)."""
        ids: dict[str, Any] = getattr(request.state, "session_ids", {})
        if self.identifier not in ids:
            raise RuntimeError(
                f"no session frontend with identifier {self.identifier!r} ran for this request: "
                "add the SessionCookie to the route's dependencies"
            )
        session_id = ids[self.identifier]
        if isinstance(session_id, FrontendError):
            return self._refuse()
        try:
            data = await self.backend.read(session_id)
        except StoreError as exc:
            _failure_log.record(exc, "read")
            raise_store_failure(exc, retry_after=1)
        if data is None:
            return self._refuse()
        verdict = self.verify_session(data)
        accepted = await verdict if inspect.isawaitable(verdict) else verdict
        return data if accepted else self._refuse()

    def _refuse(self) -> SessionModel | None:
        if self.auto_error:
            raise self.auth_http_exception
        return None
