"""What `TortoiseStore` sends to PostgreSQL, seen by asyncpg's query logger on every connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from anchor_tortoise import TortoiseStore, sessions_table, skip_reset

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


class Statements:
    """Every statement the pool's connections run, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def init(self, connection: Any) -> None:
        connection.add_query_logger(lambda record: self.seen.append(record.query))

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture(params=["default reset", "skip_reset"])
async def logged(
    request: pytest.FixtureRequest,
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    fresh_name: Callable[[str], str],
    live_table: Any,
) -> AsyncIterator[tuple[TortoiseStore, Statements, bool]]:
    statements = Statements()
    table = fresh_name("anchor_sessions_q")
    model = sessions_table(table)
    extra: dict[str, Any] = {"init": statements.init}
    skipping = request.param == "skip_reset"
    if skipping:
        extra["reset"] = skip_reset
    drop = f'DROP TABLE IF EXISTS "{table}"'
    async with live_table(tortoise_credentials, model, drop, postgres_dsn, **extra):
        statements.take()
        yield TortoiseStore(model=model), statements, skipping


def _is_reset(statement: str) -> bool:
    return "RESET ALL" in statement or "pg_advisory_unlock_all" in statement


async def test_get_is_one_select_by_primary_key_without_transaction(
    logged: Any, new_record: Any
) -> None:
    store, statements, skipping = logged
    record = new_record()
    await store.create(record)
    await store.get(record.id)  # warm: the statement is compiled on first use
    statements.take()

    assert await store.get(record.id) == record
    sent = statements.take()
    reads = [s for s in sent if not _is_reset(s)]
    assert len(reads) == 1
    assert reads[0].startswith("SELECT ")
    assert reads[0].rstrip().endswith('WHERE "id"=$1')
    assert not any(s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK") for s in sent)
    # asyncpg's pool adds a reset query on release unless `reset` is a no-op.
    assert len(sent) == (1 if skipping else 2)


async def test_update_is_one_update_that_never_inserts(logged: Any, new_record: Any) -> None:
    store, statements, _ = logged
    record = new_record()
    await store.create(record)
    statements.take()

    assert await store.update(record.id, expires_at=T0 + timedelta(days=1), data={"a": 1})
    assert await store.update(new_record().id, expires_at=T0) is False
    later = T0 + timedelta(hours=2)
    assert await store.update(record.id, last_seen_at=later, authenticated_at=later)
    sent = [s for s in statements.take() if not _is_reset(s)]
    assert len(sent) == 3
    assert all(s.startswith("UPDATE ") for s in sent)
    for column in ('"last_seen_at"=', '"authenticated_at"='):
        assert column in sent[2]
    for column in ('"expires_at"', '"data"'):
        assert column not in sent[2]


async def test_delete_user_keeping_one_is_one_delete(logged: Any, new_record: Any) -> None:
    store, statements, _ = logged
    kept, other = new_record("dora"), new_record("dora")
    await store.create(kept)
    await store.create(other)
    statements.take()

    assert await store.delete_user("dora", keep=kept.id) == 1
    (sent,) = [s for s in statements.take() if not _is_reset(s)]
    assert sent.startswith("DELETE ")
    assert await store.get(kept.id) == kept


async def test_create_and_delete_are_one_statement_each(logged: Any, new_record: Any) -> None:
    store, statements, _ = logged
    record = new_record()
    await store.create(record)
    await store.delete(record.id)
    await store.delete_expired(T0 + timedelta(days=1), 10)
    sent = [s for s in statements.take() if not _is_reset(s)]
    assert [s.split()[0] for s in sent] == ["INSERT", "DELETE", "DELETE"]
    assert "FOR UPDATE SKIP LOCKED" in sent[2]
    assert "LIMIT" in sent[2]
