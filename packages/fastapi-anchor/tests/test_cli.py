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


def test_a_factory_and_a_store_are_accepted_too() -> None:
    add("alice", 1, expired=False)
    for target in ("cli_target:make_anchor", "cli_target:store"):
        result = runner.invoke(app, ["--app", target, "revoke", "alice"])
        assert result.exit_code in (0, 1), result.output


def test_revoke_needs_exactly_one_of_user_and_session() -> None:
    assert invoke("revoke")[0] == 2
    assert invoke("revoke", "alice", "--session", "x")[0] == 2


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
