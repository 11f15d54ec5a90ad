"""Several workers, one database: the example app served by two uvicorn worker processes.

A logout through one worker, or a `fastapi-anchor revoke` from the command line while the app
runs, is refused by every worker at the very next request.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from live_server import ROOT, live_server

SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def base_url(module_postgres_dsn: str) -> Iterator[str]:
    env = {
        "ANCHOR_DATABASE_URL": module_postgres_dsn,
        "ANCHOR_SECRET_KEY": SECRET,
        "ANCHOR_EXAMPLE_WORKER_HEADER": "1",
    }
    with live_server("examples.app:app", workers=2, env=env) as url:
        yield url


def log_in(base_url: str, user: str = "alice", password: str = "wonderland") -> str:
    with httpx.Client(base_url=base_url) as client:
        response = client.post(
            "/login", data={"username": user, "password": password}, follow_redirects=False
        )
    assert response.status_code == 303
    return response.cookies["session"]


def me_from_every_worker(base_url: str, cookie: str) -> set[tuple[int, int]]:
    """Ask /me over many fresh connections so both workers answer; return (status, pid) pairs."""
    seen = set()
    for _ in range(40):
        with httpx.Client(base_url=base_url, headers={"cookie": f"session={cookie}"}) as client:
            response = client.get("/me")
        seen.add((response.status_code, int(response.headers.get("x-worker-pid", "0"))))
    return seen


def statuses(seen: set[tuple[int, int]]) -> set[int]:
    return {status for status, _ in seen}


def test_both_workers_serve_the_session_and_logout_reaches_every_worker(base_url: str) -> None:
    cookie = log_in(base_url)
    before = me_from_every_worker(base_url, cookie)
    assert statuses(before) == {200}
    assert len({pid for _, pid in before}) == 2, "both workers should have answered"

    with httpx.Client(base_url=base_url, headers={"cookie": f"session={cookie}"}) as client:
        assert client.post("/logout").json() == {"ok": True}

    after = me_from_every_worker(base_url, cookie)
    assert statuses(after) == {401}
    assert len({pid for _, pid in after}) == 2


def test_cli_revoke_while_the_app_runs_logs_the_user_out_everywhere(
    base_url: str, module_postgres_dsn: str
) -> None:
    laptop, phone = log_in(base_url, "bob", "builder"), log_in(base_url, "bob", "builder")
    assert statuses(me_from_every_worker(base_url, laptop)) == {200}
    result = subprocess.run(
        [sys.executable, "-m", "fastapi_anchor", "--app", "examples.app:anchor", "revoke", "bob"],
        cwd=ROOT,
        env={**os.environ, "ANCHOR_DATABASE_URL": module_postgres_dsn, "ANCHOR_SECRET_KEY": SECRET},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "revoked 2 session(s) of user bob" in result.stdout
    assert statuses(me_from_every_worker(base_url, laptop)) == {401}
    assert statuses(me_from_every_worker(base_url, phone)) == {401}
