"""Base class of fastapi-sessions-style backends: session data keyed by the app's session id."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Generic, TypeVar

__all__ = ["BackendError", "SessionBackend"]

ID = TypeVar("ID")
SessionModel = TypeVar("SessionModel")


class BackendError(Exception):
    """A backend refused the call: creating an existing id, or updating a missing one."""


class SessionBackend(ABC, Generic[ID, SessionModel]):
    """Stores session data under an id the application chose."""

    @abstractmethod
    async def create(self, session_id: ID, data: SessionModel) -> None:
        """Store `data` under a new `session_id`; `BackendError` if the id exists."""

    @abstractmethod
    async def read(self, session_id: ID) -> SessionModel | None:
        """Return the data of a live session, or None."""

    @abstractmethod
    async def update(self, session_id: ID, data: SessionModel) -> None:
        """Replace the data of an existing session; `BackendError` if it is gone."""

    @abstractmethod
    async def delete(self, session_id: ID) -> None:
        """Remove the session; harmless if it is already gone."""
