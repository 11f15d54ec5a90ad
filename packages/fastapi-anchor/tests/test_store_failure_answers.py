"""How `Anchor` answers and logs store failures: 503 for unavailability, 500 for mistakes."""

from __future__ import annotations

import logging
import secrets

import httpx
import pytest

from fastapi_anchor import Anchor, MemoryStore
from fastapi_anchor.logs import FailureLog
from fastapi_anchor.store import (
    SessionRecord,
    StoreError,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.testing import https_client, session_app

pytestmark = pytest.mark.anyio

SECRET = secrets.token_urlsafe(32)


class FailingStore(MemoryStore):
    """A memory store whose `get` raises `failure` once it is set (the database "breaks")."""

    failure: StoreError | None = None

    async def get(self, session_id: str) -> SessionRecord | None:
        if self.failure is not None:
            raise self.failure
        return await super().get(session_id)


async def test_unavailable_is_503_with_retry_after_and_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FailingStore()
    anchor = Anchor(store, secret_keys=SECRET, retry_after=7)
    async with https_client(session_app(anchor)) as client:
        login = await client.post("/login")
        cookie = login.cookies.get(anchor.cookie.name)
        store.failure = StoreUnavailable("database unavailable: boom", sqlstate="08006")
        with caplog.at_level(logging.WARNING, logger="fastapi_anchor"):
            answers = [await client.get("/me") for _ in range(5)]
    assert {a.status_code for a in answers} == {503}
    assert answers[0].headers["retry-after"] == "7"
    records = [r for r in caplog.records if r.name == "fastapi_anchor"]
    assert len(records) == 1  # rate-limited: one line for five failures of one kind
    assert records[0].levelno == logging.WARNING
    assert "StoreUnavailable" in records[0].getMessage()
    assert "boom" in records[0].getMessage()
    assert cookie is not None
    assert cookie not in caplog.text  # never the cookie
    assert SECRET not in caplog.text


async def test_a_missing_table_is_503_without_retry_after_and_an_error_with_the_fix(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FailingStore()
    anchor = Anchor(store, secret_keys=SECRET)
    async with https_client(session_app(anchor)) as client:
        await client.post("/login")
        store.failure = TableMissing("the sessions table x does not exist; create it with Y()")
        with caplog.at_level(logging.WARNING, logger="fastapi_anchor"):
            answer = await client.get("/me")
    assert answer.status_code == 503
    assert "retry-after" not in answer.headers
    (record,) = [r for r in caplog.records if r.name == "fastapi_anchor"]
    assert record.levelno == logging.ERROR
    assert "create it with Y()" in record.getMessage()


async def test_a_mistake_is_a_500_and_an_error_log_line(caplog: pytest.LogCaptureFixture) -> None:
    store = FailingStore()
    anchor = Anchor(store, secret_keys=SECRET)
    transport = httpx.ASGITransport(app=session_app(anchor), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        await client.post("/login")
        store.failure = StoreRejected("rejected: SQLSTATE 42501", sqlstate="42501")
        with caplog.at_level(logging.WARNING, logger="fastapi_anchor"):
            answer = await client.get("/me")
    assert answer.status_code == 500
    lines = [r for r in caplog.records if r.name == "fastapi_anchor"]
    assert [r.levelno for r in lines] == [logging.ERROR]
    assert "42501" in lines[0].getMessage()


async def test_check_passes_on_a_working_store_and_raises_on_a_broken_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FailingStore()
    anchor = Anchor(store, secret_keys=SECRET)
    await anchor.check()
    store.failure = TableMissing("no table; create it with Y()")
    with caplog.at_level(logging.ERROR, logger="fastapi_anchor"), pytest.raises(TableMissing):
        await anchor.check()
    assert "create it with Y()" in caplog.text


def test_the_failure_log_counts_what_it_left_out(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    monkeypatch.setattr("fastapi_anchor.logs.monotonic", lambda: now[0])
    log = FailureLog(window=60)
    down = StoreUnavailable("down", sqlstate="08006")
    with caplog.at_level(logging.WARNING, logger="fastapi_anchor"):
        for _ in range(4):
            log.record(down, "get")
        log.record(StoreUnavailable("busy", sqlstate="53300"), "get")  # another kind: logged
        now[0] += 61
        log.record(down, "get")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "53300" not in messages[0]
    assert messages[2].endswith("(3 more like it since the last such line)")
