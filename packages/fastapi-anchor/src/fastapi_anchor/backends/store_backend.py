"""`StoreBackend`: the fastapi-sessions-style backend API over any `SessionStore`.

The application chooses the session id (a UUID in the original README); the store only ever
sees its SHA-256. A Pydantic model's `user_id`, `created_at` and `expires_at` fields map onto the
record's columns, every other field onto `data`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TypeVar, cast, get_args

from pydantic import BaseModel

from fastapi_anchor.backends.session_backend import BackendError, SessionBackend
from fastapi_anchor.clock import utc_now
from fastapi_anchor.store import SessionExists, SessionRecord, SessionStore
from fastapi_anchor.tokens import hash_token

__all__ = ["NO_EXPIRY", "StoreBackend"]

ID = TypeVar("ID")
SessionModel = TypeVar("SessionModel")

NO_EXPIRY = datetime(9999, 12, 31, tzinfo=timezone.utc)
"""`expires_at` given to sessions whose model has no `expires_at` and no default lifetime."""

_COLUMNS = ("user_id", "created_at", "expires_at")


class StoreBackend(SessionBackend[ID, SessionModel], Generic[ID, SessionModel]):
    """A `SessionBackend` that keeps its sessions in a `SessionStore`.

    Args:
        store: The store holding the sessions.
        model: The session model class. If omitted it is taken from the subscription, as in
            `InMemoryBackend[UUID, SessionData]()`.
        lifetime: Lifetime of sessions whose model has no `expires_at`; None keeps them until
            they are deleted.
        clock: Returns the current aware time.
    """

    def __init__(
        self,
        store: SessionStore,
        model: type[SessionModel] | None = None,
        *,
        lifetime: timedelta | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self._model = model
        self.lifetime = lifetime
        self.clock = clock

    @property
    def model(self) -> type[Any]:
        """The session model class (a Pydantic model, or dict)."""
        if self._model is None:
            args = get_args(getattr(self, "__orig_class__", None))
            if len(args) != 2:
                raise TypeError(
                    f"{type(self).__name__} does not know its session model: subscribe it "
                    f"({type(self).__name__}[UUID, SessionData]()) or pass model="
                )
            self._model = cast("type[SessionModel]", args[1])
        return self._model

    async def create(self, session_id: ID, data: SessionModel) -> None:
        """Store `data` under the hash of `session_id`; `BackendError` if it exists."""
        try:
            await self.store.create(self._record(session_id, data))
        except SessionExists as exc:
            raise BackendError("create can't overwrite an existing session") from exc

    async def read(self, session_id: ID) -> SessionModel | None:
        """Return the data of the session, or None if it is missing or expired."""
        record = await self.store.get(self._id(session_id))
        if record is None or record.expires_at <= self.clock():
            return None
        return self._model_from(record)

    async def update(self, session_id: ID, data: SessionModel) -> None:
        """Replace the data (and `expires_at`, if the model has it); `BackendError` if gone."""
        record = self._record(session_id, data)
        if not await self.store.update(record.id, expires_at=record.expires_at, data=record.data):
            raise BackendError("session does not exist, cannot update")

    async def delete(self, session_id: ID) -> None:
        """Remove the session; harmless if it is already gone."""
        await self.store.delete(self._id(session_id))

    @staticmethod
    def _id(session_id: object) -> str:
        return hash_token(str(session_id))

    def _record(self, session_id: ID, data: SessionModel) -> SessionRecord:
        if isinstance(data, BaseModel):
            columns = {k: getattr(data, k) for k in _COLUMNS if k in type(data).model_fields}
            rest = data.model_dump(mode="json", exclude=set(_COLUMNS))
        elif isinstance(data, Mapping):
            columns = {k: data[k] for k in _COLUMNS if k in data}
            rest = {k: v for k, v in data.items() if k not in _COLUMNS}
        else:
            raise TypeError(f"session data must be a Pydantic model or a mapping, got {data!r}")
        now = self.clock()
        default_expiry = NO_EXPIRY if self.lifetime is None else now + self.lifetime
        return SessionRecord(
            id=self._id(session_id),
            user_id=str(columns.get("user_id", "")),
            created_at=columns.get("created_at", now),
            expires_at=columns.get("expires_at", default_expiry),
            data=rest,
        )

    def _model_from(self, record: SessionRecord) -> SessionModel:
        model = self.model
        fields = {
            "user_id": record.user_id,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
        }
        if isinstance(model, type) and issubclass(model, BaseModel):
            known = {k: v for k, v in fields.items() if k in model.model_fields}
            return cast("SessionModel", model.model_validate({**record.data, **known}))
        return cast("SessionModel", {**record.data, **fields})
