"""The store contract: `SessionRecord`, the `SessionStore` protocol and the errors a store raises.

This is all a store author implements; run `fastapi_anchor.testing.SessionStoreSuite` on the
result. Adapters reuse the rest (the shared table, failure classification, time limits) from
`fastapi_anchor.toolkit`.

Expiry is the core's business: a store keeps `expires_at` and returns what it holds,
expired or not; only `delete_expired` looks at time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from fastapi_anchor.clock import ensure_utc
from fastapi_anchor.exceptions import (
    SessionExists,
    StoreError,
    StoreFull,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)

__all__ = [
    "MAX_USER_ID_LENGTH",
    "CountsExpired",
    "SessionExists",
    "SessionRecord",
    "SessionStore",
    "StoreError",
    "StoreFull",
    "StoreRejected",
    "StoreUnavailable",
    "TableMissing",
]


MAX_USER_ID_LENGTH = 255
"""Longest user id (the shared table's `user_id varchar(255)`)."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One stored session, as the store holds it.

    Datetimes must be timezone-aware; they are normalised to UTC on construction, so records
    compare equal whatever zone they were built in.

    Attributes:
        id: SHA-256 hex of the session token (64 characters); never the token itself.
        user_id: Whom the session authenticates.
        created_at: When the session was minted; the absolute timeout counts from here.
        expires_at: The idle deadline; sliding refresh moves it forward.
        data: A JSON object stored with the session, round-tripped exactly.
    """

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    data: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", ensure_utc(self.created_at, "created_at"))
        object.__setattr__(self, "expires_at", ensure_utc(self.expires_at, "expires_at"))
        if not isinstance(self.user_id, str):
            raise TypeError(f"SessionRecord.user_id must be a str, got {type(self.user_id)}")
        if len(self.user_id) > MAX_USER_ID_LENGTH or "\x00" in self.user_id:
            raise ValueError(
                f"SessionRecord.user_id must be at most {MAX_USER_ID_LENGTH} characters without NUL"
            )
        if not isinstance(self.data, Mapping):
            raise TypeError(f"SessionRecord.data must be a mapping, got {type(self.data).__name__}")


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions live. Every method is a coroutine; run the conformance suite on yours.

    A backing service that cannot answer now raises `StoreUnavailable` (a missing table
    `TableMissing`), one that refuses the call for good `StoreRejected`, and a duplicate id on
    `create` `SessionExists`. Returned records must not share mutable state with the store.
    """

    async def create(self, record: SessionRecord) -> None:
        """Store a new record.

        Raises:
            SessionExists: The id is already stored; the stored record is left unchanged.
        """
        ...

    async def get(self, session_id: str) -> SessionRecord | None:
        """Return the record with exactly this id, expired or not, or None (one round trip)."""
        ...

    async def update(
        self,
        session_id: str,
        *,
        expires_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> bool:
        """Change the given fields of an existing record; never inserts.

        Returns:
            True if the record existed and was updated, False if it is gone.
        """
        ...

    async def delete(self, session_id: str) -> bool:
        """Remove one record; return whether it existed. Deleting twice is not an error."""
        ...

    async def delete_user(self, user_id: str) -> int:
        """Remove every record of `user_id`; return how many were removed."""
        ...

    async def list_user(self, user_id: str) -> list[SessionRecord]:
        """Return every record of `user_id` (expired ones included), in no particular order."""
        ...

    async def delete_expired(self, now: datetime, limit: int = 1000) -> int:
        """Remove at most `limit` records with `expires_at <= now`; return how many."""
        ...


@runtime_checkable
class CountsExpired(Protocol):
    """Optional store capability: count expired records (for `fastapi-anchor cleanup --dry-run`)."""

    async def count_expired(self, now: datetime) -> int:
        """Return how many records have `expires_at <= now`."""
        ...
