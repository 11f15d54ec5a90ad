"""The store contract: `SessionRecord`, the `SessionStore` protocol and the errors a store raises.

Adapters import only this module: it also re-exports the shared table's definition and
the JSON encoding of `data` from `fastapi_anchor.schema`, and `Deadlines`, the per-call time
limit of `fastapi_anchor.deadlines`.

Expiry is the core's business: a store keeps `expires_at` and returns what it holds,
expired or not; only `delete_expired` looks at time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from fastapi_anchor.deadlines import Deadlines, call_limit
from fastapi_anchor.exceptions import (
    SessionExists,
    StoreError,
    StoreFull,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.schema import (
    DEFAULT_TABLE_NAME,
    create_table_sql,
    dump_data,
    index_name,
    load_data,
    quote_table,
)

__all__ = [
    "DEFAULT_TABLE_NAME",
    "MAX_USER_ID_LENGTH",
    "CountsExpired",
    "Deadlines",
    "SessionExists",
    "SessionRecord",
    "SessionStore",
    "StoreError",
    "StoreFull",
    "StoreUnavailable",
    "TableMissing",
    "call_limit",
    "check_expiry_args",
    "create_table_sql",
    "dump_data",
    "ensure_utc",
    "index_name",
    "load_data",
    "quote_table",
    "skip_reset",
]


MAX_USER_ID_LENGTH = 255
"""Longest user id (the shared table's `user_id varchar(255)`)."""


def ensure_utc(value: datetime, name: str = "value") -> datetime:
    """Return the aware datetime `value` in UTC; stores use it on `update(expires_at=...)`.

    Raises:
        TypeError: `value` is not a datetime.
        ValueError: `value` is naive.
    """
    if value.__class__ is datetime and value.tzinfo is timezone.utc:
        return value  # the common case (drivers return UTC): nothing to check or convert
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(timezone.utc)


async def skip_reset(connection: object) -> None:
    """A no-op pool `reset` for asyncpg pools (raw, or under Tortoise or Piccolo).

    By default an asyncpg pool sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL;` every time a connection goes back to the pool: a second round trip after every
    session lookup. An application that leaves no session state on pooled connections (no
    `SET`, `LISTEN`, advisory locks, temporary tables or cursors held past a release) has
    nothing to reset: pass this as `reset=`. asyncpg (0.30+) still rolls back a transaction
    left open and drops listeners before calling it.
    """


def check_expiry_args(now: datetime, limit: int) -> None:
    """Validate the arguments of `SessionStore.delete_expired` (every store calls this).

    Raises:
        ValueError: `now` is naive or `limit` is below 1.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")


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

    Errors of the backing service surface as `StoreUnavailable`; a duplicate id as
    `SessionExists`. Returned records must not share mutable state with the store.
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
