"""The original README's PostgreSQL backend, served by anchor-sqlalchemy's `SQLAlchemyStore`.

`fastapi_anchor.backends.implementations` imports `PostgresBackend`, `PostgresSessionData` and
`anchor_sessions_table` from here, lazily, so that only applications using them need the
anchor-sqlalchemy distribution (`pip install fastapi-anchor[postgres]`). This module uses the
adapter's store and table, nothing else of it: the one place the core imports an adapter.

`PostgresBackend` is a thin `StoreBackend`: the session id the application chose
is stored as its SHA-256, a model's `user_id`, `created_at` and `expires_at` go to their
columns and its other fields to `data`, and an expired session reads as None.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from fastapi_anchor.backends.store_backend import StoreBackend
from fastapi_anchor.clock import utc_now
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME

__all__ = ["PostgresBackend", "PostgresSessionData", "anchor_sessions_table"]

ID = TypeVar("ID")
SessionModel = TypeVar("SessionModel")


class PostgresSessionData(BaseModel):
    """Session payload of the original README: who, since when, until when."""

    user_id: str
    created_at: datetime
    expires_at: datetime


def anchor_sessions_table(metadata: MetaData, name: str = DEFAULT_TABLE_NAME) -> Table:
    """Define the shared session table on `metadata` (the original README's name for it).

    Same as `anchor_sqlalchemy.sessions_table`: create it with `metadata.create_all` or an
    Alembic migration.
    """
    return sessions_table(metadata, table=name)


class PostgresBackend(StoreBackend[ID, SessionModel], Generic[ID, SessionModel]):
    """The original README's backend: sessions in the shared table through SQLAlchemy.

    Args:
        session_factory: An `async_sessionmaker` bound to an `AsyncEngine`, or the engine.
        table: The table from `anchor_sessions_table`; `anchor_sessions` if omitted.
        model: The session model class. If omitted it comes from the subscription
            (`PostgresBackend[UUID, MyData](...)`), else `PostgresSessionData`.
        lifetime: Lifetime of sessions whose model has no `expires_at`; None keeps them
            until they are deleted.
        clock: Returns the current aware time; a session is expired from its `expires_at` on.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[Any] | AsyncEngine,
        table: Table | None = None,
        model: type[SessionModel] | None = None,
        *,
        lifetime: timedelta | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        store = SQLAlchemyStore(session_factory, table if table is not None else DEFAULT_TABLE_NAME)
        super().__init__(store, model, lifetime=lifetime, clock=clock)

    @property
    def model(self) -> type[Any]:
        """The session model class; `PostgresSessionData` unless told otherwise."""
        if self._model is None and len(get_args(getattr(self, "__orig_class__", None))) != 2:
            return PostgresSessionData
        return super().model
