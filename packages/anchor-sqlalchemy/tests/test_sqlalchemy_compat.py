"""The original README's import path for the PostgreSQL backend, with and without the extra."""

from __future__ import annotations

import importlib
import sys

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import fastapi_anchor.backends.postgres
from anchor_sqlalchemy import SQLAlchemyStore
from fastapi_anchor.backends.store_backend import StoreBackend


def test_the_seed_names_come_from_this_package() -> None:
    from fastapi_anchor.backends.implementations import (
        PostgresBackend,
        PostgresSessionData,
        anchor_sessions_table,
    )

    assert PostgresBackend is fastapi_anchor.backends.postgres.PostgresBackend
    assert PostgresSessionData is fastapi_anchor.backends.postgres.PostgresSessionData
    assert anchor_sessions_table is fastapi_anchor.backends.postgres.anchor_sessions_table
    assert issubclass(PostgresBackend, StoreBackend)
    assert set(PostgresSessionData.model_fields) == {"user_id", "created_at", "expires_at"}


@pytest.mark.anyio
async def test_the_backend_is_a_store_backend_over_sqlalchemy_store(
    sqlite_engine: AsyncEngine,
) -> None:
    from fastapi_anchor.backends.implementations import PostgresBackend, anchor_sessions_table

    factory = async_sessionmaker(sqlite_engine, class_=AsyncSession, expire_on_commit=False)
    table = anchor_sessions_table(MetaData())
    backend = PostgresBackend(factory, table=table)
    assert isinstance(backend.store, SQLAlchemyStore)
    assert backend.store.table is table
    assert backend.store.engine is sqlite_engine
    assert table.name == "anchor_sessions"
    assert backend.model is fastapi_anchor.backends.postgres.PostgresSessionData


def test_without_the_extra_the_import_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "anchor_sqlalchemy", None)  # type: ignore[arg-type]
    monkeypatch.delitem(sys.modules, "fastapi_anchor.backends.postgres", raising=False)
    implementations = importlib.import_module("fastapi_anchor.backends.implementations")
    for name in ("PostgresBackend", "PostgresSessionData", "anchor_sessions_table"):
        with pytest.raises(ImportError, match=r"pip install fastapi-anchor\[postgres\]"):
            getattr(implementations, name)
    with pytest.raises(ImportError, match=r"pip install fastapi-anchor\[postgres\]"):
        exec("from fastapi_anchor.backends.implementations import PostgresBackend", {})
    # The in-memory backend needs no extra.
    assert implementations.InMemoryBackend.__name__ == "InMemoryBackend"
