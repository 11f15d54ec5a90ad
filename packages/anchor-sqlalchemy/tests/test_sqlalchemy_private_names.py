"""The direct read leans on a few private names of SQLAlchemy: when one is gone, the store reads
through a `Connection` instead, says so once, and every request still gets its session."""

from __future__ import annotations

import warnings
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy.util
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from anchor_sqlalchemy import SQLAlchemyStore, sessions_table
from anchor_sqlalchemy.direct import DirectRead
from anchor_sqlalchemy.statements import Statements
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token, new_token

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def autocommit_read(engine: AsyncEngine) -> DirectRead | None:
    statement = Statements.build(sessions_table(MetaData()), "postgresql").get
    autocommit = engine.sync_engine.execution_options(isolation_level="AUTOCOMMIT")
    return DirectRead.prepare(autocommit, statement, "session_id")


async def test_with_every_name_present_the_direct_read_applies_without_a_warning(
    pg_engine: AsyncEngine,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert autocommit_read(pg_engine) is not None


async def test_a_missing_greenlet_helper_gives_the_connection_path_and_one_warning(
    pg_engine: AsyncEngine, table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sqlalchemy.util.await_` (2.1) and `await_only` (2.0) gone, as a later release might."""
    monkeypatch.delattr(sqlalchemy.util, "await_", raising=False)
    monkeypatch.delattr(sqlalchemy.util, "await_only", raising=False)
    table = sessions_table(MetaData(), table_name)
    with pytest.warns(RuntimeWarning, match=r"lacks sqlalchemy\.util\.await_; .*Connection"):
        store = SQLAlchemyStore(pg_engine, table)
    assert store._direct is None  # no direct read: every get runs on a Connection
    await store.create_table()
    try:
        record = SessionRecord(
            hash_token(new_token()), "alice", T0, T0 + timedelta(hours=1), {"k": 1}
        )
        await store.create(record)
        assert await store.get(record.id) == record
        assert await store.get(hash_token(new_token())) is None
        again = SQLAlchemyStore(pg_engine, table)  # the same engine: no second warning
        assert again._direct is None
        assert await again.get(record.id) == record
        assert autocommit_read(pg_engine) is None
    finally:
        async with pg_engine.begin() as conn:
            await conn.run_sync(table.drop, checkfirst=True)
