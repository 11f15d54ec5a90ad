"""The fastapi-anchor command on a memory store (PostgreSQL end to end: tests/ at the root)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import anyio
import pytest
from typer.testing import CliRunner

from fastapi_anchor import SessionRecord, hash_token
from fastapi_anchor.cli import app

import cli_target

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    cli_target.store._rows.clear()
    cli_target.store._by_user.clear()


def add(user: str, n: int, *, expired: bool) -> list[SessionRecord]:
    now = cli_target.NOW[0]
    records = []
    for i in range(n):
        expires = now - timedelta(seconds=1 + i) if expired else now + timedelta(hours=1)
        record = SessionRecord(hash_token(f"{user}{i}{expired}"), user, now, expires, {"k": i})
        anyio.run(cli_target.store.create, record)
        records.append(record)
    return records


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--app", "cli_target:anchor", *args])
    return result.exit_code, result.output


def test_cleanup_deletes_expired_in_batches_and_keeps_live() -> None:
    add("alice", 25, expired=True)
    live = add("bob", 3, expired=False)
    code, output = invoke("cleanup", "--batch-size", "10", "--dry-run")
    assert (code, output.strip()) == (0, "25 expired sessions would be deleted (dry run)")
    assert len(cli_target.store) == 28
    code, output = invoke("cleanup", "--batch-size", "10")
    assert code == 0
    assert "deleted 25 expired sessions" in output
    assert {r.id for r in anyio.run(cli_target.store.list_user, "bob")} == {r.id for r in live}
    assert len(cli_target.store) == 3


def test_sessions_lists_ids_dates_and_data_keys_never_tokens() -> None:
    [record] = add("alice", 1, expired=False)
    code, output = invoke("sessions", "alice")
    assert code == 0
    [row] = [line for line in output.splitlines() if record.id in line]
    assert "2030-01-01T00:00:00+00:00" in row
    assert "live" in row
    assert "k" in output


def test_sessions_shows_last_seen_address_and_client() -> None:
    now = cli_target.NOW[0]
    record = SessionRecord(
        hash_token("device"),
        "dora",
        now,
        now + timedelta(hours=1),
        {},
        last_seen_at=now + timedelta(minutes=30),
        ip_address="2001:db8::7",
        user_agent="Firefox/133",
    )
    anyio.run(cli_target.store.create, record)
    code, output = invoke("sessions", "dora")
    assert code == 0
    [row] = [line for line in output.splitlines() if record.id in line]
    for shown in ("2030-01-01T00:30:00+00:00", "2001:db8::7", "Firefox/133"):
        assert shown in row


def test_revoke_a_user_and_one_session() -> None:
    first, _ = add("alice", 2, expired=False)
    code, output = invoke("revoke", "--session", first.id)
    assert (code, output.strip()) == (0, f"revoked session {first.id}")
    code, output = invoke("revoke", "alice")
    assert (code, output.strip()) == (0, "revoked 1 session(s) of user alice")
    code, _ = invoke("revoke", "alice")
    assert code == 1  # nothing matched
    assert len(cli_target.store) == 0


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("cli_target", "expected 'module:attribute'"),
        ("no_such_module:anchor", "cannot import module 'no_such_module'"),
        ("cli_target:missing", "has no attribute 'missing'"),
        ("cli_target:not_an_anchor", "not an Anchor or a SessionStore"),
    ],
)
def test_bad_import_strings_exit_2_with_a_clear_message(target: str, message: str) -> None:
    result = runner.invoke(app, ["--app", target, "sessions", "alice"])
    assert result.exit_code == 2
    assert message in result.output


def test_the_fastapi_app_is_refused_with_exit_2_naming_the_anchor() -> None:
    """`--app module:app` (the uvicorn habit) must not call the ASGI app as a factory."""
    result = runner.invoke(app, ["--app", "cli_target:app", "sessions", "alice"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "FastAPI application" in result.output
    assert "cli_target:anchor" in result.output  # what to pass instead


def test_a_function_that_needs_arguments_is_refused_with_exit_2() -> None:
    result = runner.invoke(app, ["--app", "cli_target:needs_arguments", "sessions", "alice"])
    assert result.exit_code == 2, result.output
    assert "without arguments" in result.output


def test_revoke_one_session_by_a_prefix_of_its_id_with_the_user() -> None:
    first, second = add("alice", 2, expired=False)
    prefix = first.id[:8]
    code, output = invoke("revoke", "alice", "--session", prefix.upper())
    assert (code, output.strip()) == (0, f"revoked session {first.id}")
    assert anyio.run(cli_target.store.get, first.id) is None
    assert anyio.run(cli_target.store.get, second.id) is not None


def test_an_ambiguous_prefix_exits_2_saying_how_many_match() -> None:
    # Two ids sharing their first 8 characters, as a long session list can have.
    now = cli_target.NOW[0]
    for tail in ("a" * 56, "b" * 56):
        record = SessionRecord("0123abcd" + tail, "alice", now, now + timedelta(hours=1), {})
        anyio.run(cli_target.store.create, record)
    code, output = invoke("revoke", "alice", "--session", "0123abcd")
    assert code == 2
    assert "matches 2 sessions" in output
    assert len(cli_target.store) == 2
    code, _ = invoke("revoke", "alice", "--session", "0123abcda")
    assert code == 0
    assert len(cli_target.store) == 1


@pytest.mark.parametrize(
    ("session", "message"),
    [
        ("3f9a", "at least 8"),
        ("3f9a...", "hexadecimal"),
        ("zzzzzzzzzz", "hexadecimal"),
        ("0" * 65, "64"),
    ],
)
def test_a_bad_session_id_exits_2(session: str, message: str) -> None:
    add("alice", 1, expired=False)
    code, output = invoke("revoke", "alice", "--session", session)
    assert code == 2
    assert message in output
    assert len(cli_target.store) == 1


def test_a_prefix_without_the_user_exits_2_saying_to_name_the_user() -> None:
    [record] = add("alice", 1, expired=False)
    code, output = invoke("revoke", "--session", record.id[:12])
    assert code == 2
    assert "USER_ID" in output
    assert len(cli_target.store) == 1


def test_a_prefix_of_another_users_session_matches_nothing() -> None:
    [record] = add("alice", 1, expired=False)
    add("bob", 1, expired=False)
    code, _ = invoke("revoke", "bob", "--session", record.id[:8])
    assert code == 1
    assert anyio.run(cli_target.store.get, record.id) is not None


def test_a_factory_and_a_store_are_accepted_too() -> None:
    add("alice", 1, expired=False)
    for target in ("cli_target:make_anchor", "cli_target:store"):
        result = runner.invoke(app, ["--app", target, "revoke", "alice"])
        assert result.exit_code in (0, 1), result.output


def test_revoke_needs_a_user_or_a_session() -> None:
    assert invoke("revoke")[0] == 2


def test_python_dash_m_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fastapi_anchor", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    assert "cleanup" in result.stdout
