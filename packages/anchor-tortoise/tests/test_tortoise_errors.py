"""Database failures surface as `StoreUnavailable`, a taken id as `SessionExists`."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError

from anchor_tortoise import TortoiseStore, sessions_table
from anchor_tortoise.errors import StoreCall
from fastapi_anchor import Anchor
from fastapi_anchor.store import SessionExists, StoreRejected, StoreUnavailable, TableMissing
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.toolkit import DEFAULT_TIMEOUT, Deadlines

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None:
        chain.append(current)
        current = current.__cause__
    return chain


async def test_every_method_is_unavailable_quickly_when_database_is_down(
    unavailable_tortoise: Any, new_record: Any
) -> None:
    store = unavailable_tortoise.store()
    record = new_record()
    calls = [
        lambda: store.create(record),
        lambda: store.get(record.id),
        lambda: store.update(record.id, expires_at=T0),
        lambda: store.update(record.id),
        lambda: store.delete(record.id),
        lambda: store.update(record.id, last_seen_at=T0, authenticated_at=T0),
        lambda: store.delete_user("alice"),
        lambda: store.delete_user("alice", keep=record.id),
        lambda: store.list_user("alice"),
        lambda: store.delete_expired(T0, 10),
        store.create_table,
        store.upgrade_table,
    ]
    for call in calls:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            await call()
        assert time.monotonic() - started < 2
        assert any(isinstance(c, OSError) for c in _causes(caught.value))


async def test_duplicate_id_is_session_exists_from_integrity_error(
    tortoise_table: Any, new_record: Any
) -> None:
    store = tortoise_table.store()
    record = new_record()
    await store.create(record)
    with pytest.raises(SessionExists) as caught:
        await store.create(new_record("mallory", id=record.id))
    assert isinstance(caught.value.__cause__, IntegrityError)
    # Tortoise raises IntegrityError while handling asyncpg's error, so __context__ holds it
    # (from 1.1.9, which raises it `from` the error, __cause__ as well).
    assert isinstance(caught.value.__cause__.__context__, asyncpg.UniqueViolationError)


async def test_other_integrity_errors_are_not_session_exists(tortoise_table: Any) -> None:
    """Only a unique violation means "id taken"; a NOT NULL violation is a mistake (500)."""
    db = get_connection("default")
    call = StoreCall(Deadlines(5), tortoise_table.table, inserting=True)
    with pytest.raises(StoreRejected) as caught, call:
        await db.execute_query(
            f'INSERT INTO "{tortoise_table.table}" (id, user_id, created_at, expires_at) '
            "VALUES ($1, NULL, $2, $2)",
            ["x" * 64, T0],
        )
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert caught.value.sqlstate == "23502"


async def test_dropped_table_is_table_missing(
    tortoise_table: Any, postgres_dsn: str, new_record: Any
) -> None:
    store = tortoise_table.store()
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'DROP TABLE "{tortoise_table.table}"')
    finally:
        await conn.close()
    with pytest.raises(TableMissing, match="create_table") as caught:
        await store.get(new_record().id)
    assert tortoise_table.table in str(caught.value)


async def test_upgrading_a_missing_table_is_table_missing(tortoise_no_table: Any) -> None:
    """`upgrade_table` creates nothing: without a table it says how to create one."""
    with pytest.raises(TableMissing, match="create_table") as caught:
        await tortoise_no_table.store().upgrade_table()
    assert tortoise_no_table.table in str(caught.value)


@pytest.fixture
async def named_pool_table(
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    fresh_name: Callable[[str], str],
    live_table: Any,
) -> AsyncIterator[tuple[TortoiseStore, str]]:
    """A store whose connections carry an application_name of their own."""
    table = fresh_name("anchor_sessions_kill")
    application_name = fresh_name("anchor_tortoise_test")
    model = sessions_table(table)
    drop = f'DROP TABLE IF EXISTS "{table}"'
    async with live_table(
        tortoise_credentials, model, drop, postgres_dsn, application_name=application_name
    ):
        yield TortoiseStore(model=model), application_name


async def test_connections_killed_by_the_server_are_replaced(
    named_pool_table: tuple[TortoiseStore, str],
    kill_backends: Callable[[str], Any],
    new_record: Any,
) -> None:
    """After pg_terminate_backend of the pool's connections, service resumes at once."""
    store, application_name = named_pool_table
    record = new_record(expires_at=T0 + timedelta(hours=2))
    await store.create(record)
    assert await kill_backends(application_name) >= 1
    # The first call may meet a connection whose end it has not yet noticed: 503, never a
    # wrong answer or another error. The pool then replaces the dead connections.
    outcomes: list[object] = []
    for _ in range(3):
        try:
            outcomes.append(await store.get(record.id))
        except StoreUnavailable as exc:
            outcomes.append(exc)
    assert all(o == record or isinstance(o, StoreUnavailable) for o in outcomes)
    assert outcomes[-1] == record


async def test_database_going_away_is_unavailable_then_recovers(
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    fresh_name: Callable[[str], str],
    live_table: Any,
    tcp_proxy: Any,
    new_record: Any,
) -> None:
    """The server vanishes (a proxy in front of it stops): 503s, then service resumes."""
    table = fresh_name("anchor_sessions_away")
    model = sessions_table(table)
    drop = f'DROP TABLE IF EXISTS "{table}"'
    proxy = await tcp_proxy(tortoise_credentials["host"], tortoise_credentials["port"])
    credentials = {**tortoise_credentials, "host": "127.0.0.1", "port": proxy.port}
    async with live_table(credentials, model, drop, postgres_dsn, timeout=2):
        store = TortoiseStore(model=model)
        record = new_record(expires_at=T0 + timedelta(hours=2))
        await store.create(record)

        await proxy.stop()
        for call in (lambda: store.get(record.id), lambda: store.create(new_record())):
            with pytest.raises(StoreUnavailable) as caught:
                await call()
            assert isinstance(
                caught.value.__cause__, (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
            )

        await proxy.start()
        assert await store.get(record.id) == record


async def test_exhausted_pool_answers_503_within_the_time_limit(
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    fresh_name: Callable[[str], str],
    live_table: Any,
) -> None:
    """Tortoise's pool has no acquire time-out of its own: the store's `timeout` bounds the
    wait for a connection, so a full pool is a prompt 503, never a request that hangs."""
    table = fresh_name("anchor_sessions_full")
    model = sessions_table(table)
    drop = f'DROP TABLE IF EXISTS "{table}"'
    async with live_table(tortoise_credentials, model, drop, postgres_dsn, minsize=1, maxsize=1):
        store = TortoiseStore(model=model, timeout=0.5)
        anchor = Anchor(store, secret_keys=secrets.token_urlsafe(32))
        async with https_client(session_app(anchor)) as client:
            assert (await client.post("/login")).status_code == 200
            async with get_connection("default").acquire_connection():  # the only one
                started = time.monotonic()
                with pytest.raises(StoreUnavailable):
                    await store.get("x" * 64)
                answer = await client.get("/me")
                assert time.monotonic() - started < 5
                assert answer.status_code == 503
                assert answer.headers["retry-after"] == "1"
            assert (await client.get("/me")).status_code == 200  # recovered once released


def test_every_call_has_a_time_limit() -> None:
    assert TortoiseStore().timeout == DEFAULT_TIMEOUT
    for wrong in (None, 0, -1.0):
        with pytest.raises(ValueError, match="timeout"):
            TortoiseStore(timeout=wrong)  # type: ignore[arg-type]


def test_public_names() -> None:
    import anchor_tortoise

    assert sorted(anchor_tortoise.__all__) == [
        "TortoiseStore",
        "__version__",
        "credentials_from_dsn",
        "sessions_table",
        "skip_reset",
    ]
