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
    "MAX_IP_ADDRESS_LENGTH",
    "MAX_USER_AGENT_LENGTH",
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

MAX_IP_ADDRESS_LENGTH = 45
"""Longest client address (`ip_address varchar(45)`): any IPv6 address, IPv4-mapped ones too."""

MAX_USER_AGENT_LENGTH = 512
"""Longest user agent kept (`user_agent varchar(512)`); login cuts longer ones."""


@dataclass(frozen=True, slots=True, init=False)
class SessionRecord:
    """One stored session, as the store holds it.

    Datetimes must be timezone-aware; they are normalised to UTC on construction, so records
    compare equal whatever zone they were built in. The fields after `data` have defaults, so
    a store written for the first five fields keeps working: `authenticated_at` and
    `last_seen_at` given as None (a row written before they existed) mean `created_at`.

    Attributes:
        id: SHA-256 hex of the session token (64 characters); never the token itself.
        user_id: Whom the session authenticates.
        created_at: When the session was minted; the absolute timeout counts from here.
        expires_at: The idle deadline; sliding refresh moves it forward.
        data: A JSON object stored with the session, round-tripped exactly.
        authenticated_at: When the user last proved their credentials (login or
            re-authentication); kept when the token is rotated.
        last_seen_at: When a request last used the session, to the app's resolution.
        ip_address: The client's address at login, or None.
        user_agent: The client's `User-Agent` at login, or None.
        persistent: Whether the cookie outlives the browser session ("remember me").
    """

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    data: Mapping[str, Any]
    authenticated_at: datetime
    last_seen_at: datetime
    ip_address: str | None
    user_agent: str | None
    persistent: bool

    def __init__(
        self,
        id: str,
        user_id: str,
        created_at: datetime,
        expires_at: datetime,
        data: Mapping[str, Any],
        authenticated_at: datetime | None = None,
        last_seen_at: datetime | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
        persistent: bool = True,
    ) -> None:
        created_at = ensure_utc(created_at, "created_at")
        fields = {
            "id": id,
            "user_id": _checked_text("user_id", user_id, MAX_USER_ID_LENGTH),
            "created_at": created_at,
            "expires_at": ensure_utc(expires_at, "expires_at"),
            "data": data,
            "authenticated_at": _utc_or(authenticated_at, created_at, "authenticated_at"),
            "last_seen_at": _utc_or(last_seen_at, created_at, "last_seen_at"),
            "ip_address": _optional_text("ip_address", ip_address, MAX_IP_ADDRESS_LENGTH),
            "user_agent": _optional_text("user_agent", user_agent, MAX_USER_AGENT_LENGTH),
            "persistent": persistent,
        }
        if not isinstance(data, Mapping):
            raise TypeError(f"SessionRecord.data must be a mapping, got {type(data).__name__}")
        if not isinstance(persistent, bool):
            raise TypeError(f"SessionRecord.persistent must be a bool, got {persistent!r}")
        for name, value in fields.items():
            object.__setattr__(self, name, value)


def _utc_or(value: datetime | None, default: datetime, name: str) -> datetime:
    return default if value is None else ensure_utc(value, name)


def _checked_text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"SessionRecord.{name} must be a str, got {type(value)}")
    if len(value) > limit or "\x00" in value:
        raise ValueError(f"SessionRecord.{name} must be at most {limit} characters without NUL")
    return value


def _optional_text(name: str, value: object, limit: int) -> str | None:
    return None if value is None else _checked_text(name, value, limit)


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
        last_seen_at: datetime | None = None,
        authenticated_at: datetime | None = None,
    ) -> bool:
        """Change the given fields of an existing record; never inserts.

        A store written before `last_seen_at` and `authenticated_at` existed may leave them
        out of its signature: the core then never records last-seen times or
        re-authentication with it.

        Returns:
            True if the record existed and was updated, False if it is gone.
        """
        ...

    async def delete(self, session_id: str) -> bool:
        """Remove one record; return whether it existed. Deleting twice is not an error."""
        ...

    async def delete_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Remove every record of `user_id` but the one with id `keep`; return how many.

        A store without `keep` in its signature still works: the core then removes the
        others one by one.
        """
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
