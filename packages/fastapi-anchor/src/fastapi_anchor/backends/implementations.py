"""Backends of the original README: `InMemoryBackend`, and `PostgresBackend` with the extra.

`PostgresBackend`, `PostgresSessionData` and `anchor_sessions_table` are loaded on first use
from `fastapi_anchor.backends.postgres`, which needs the anchor-sqlalchemy distribution
(`pip install fastapi-anchor[postgres]`).
"""

from __future__ import annotations

import importlib
from typing import Any, Generic, TypeVar

from fastapi_anchor.backends.session_backend import BackendError, SessionBackend
from fastapi_anchor.backends.store_backend import StoreBackend
from fastapi_anchor.memory import MemoryStore

__all__ = [
    "BackendError",
    "InMemoryBackend",
    "PostgresBackend",  # noqa: F822 (provided lazily by __getattr__)
    "PostgresSessionData",  # noqa: F822 (provided lazily by __getattr__)
    "SessionBackend",
    "anchor_sessions_table",  # noqa: F822 (provided lazily by __getattr__)
]

ID = TypeVar("ID")
SessionModel = TypeVar("SessionModel")

_POSTGRES_NAMES = ("PostgresBackend", "PostgresSessionData", "anchor_sessions_table")
_POSTGRES_MODULE = "fastapi_anchor.backends.postgres"


class InMemoryBackend(StoreBackend[ID, SessionModel], Generic[ID, SessionModel]):
    """Sessions in this process's memory (a `MemoryStore`), keyed by the SHA-256 of the id.

    Args:
        store: The `MemoryStore` to use; a new one if omitted.
        model: The session model class; taken from the subscription if omitted.
    """

    def __init__(
        self, store: MemoryStore | None = None, model: type[SessionModel] | None = None
    ) -> None:
        super().__init__(store if store is not None else MemoryStore(), model)


def __getattr__(name: str) -> Any:
    if name not in _POSTGRES_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(_POSTGRES_MODULE)
    except ImportError as exc:
        raise ImportError(
            f"{name} needs the PostgreSQL extra: pip install fastapi-anchor[postgres]"
        ) from exc
    return getattr(module, name)
