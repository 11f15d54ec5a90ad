"""Base class of fastapi-sessions-style frontends: where a request carries its session id."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from starlette.requests import Request

__all__ = ["FrontendError", "SessionFrontend"]

ID = TypeVar("ID")


class FrontendError(Exception):
    """The request carries no valid session id (missing, tampered or malformed cookie)."""


class SessionFrontend(ABC, Generic[ID]):
    """Reads a session id from a request and records it for verifiers with the same identifier."""

    @property
    @abstractmethod
    def identifier(self) -> str:
        """Name shared with the verifier that reads what this frontend found."""

    @abstractmethod
    async def __call__(self, request: Request) -> ID | FrontendError:
        """Return the request's session id, or a `FrontendError` (raised if auto_error)."""
