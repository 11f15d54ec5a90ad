"""The fastapi-anchor command end to end on PostgreSQL, while the example app serves."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from fastapi_anchor import hash_token

from live_server import ROOT, free_port, live_server

SECRET = secrets.token_urlsafe(32)


def run_cli(
    *args: str, env: dict[str, str], app_dir: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_anchor", "--app-dir", str(app_dir), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def sql(dsn: str, query: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def app_env(module_postgres_dsn: str) -> Iterator[dict[str, str]]:
    env = {"ANCHOR_DATABASE_URL": module_postgres_dsn, "ANCHOR_SECRET_KEY": SECRET}
    with live_server("examples.app:app", env=env) as url:
        yield {**env, "BASE_URL": url}


def test_cleanup_deletes_1500_expired_rows_in_batches_while_the_app_serves(
    app_env: dict[str, str], module_postgres_dsn: str
) -> None:
    base_url = app_env["BASE_URL"]
    with httpx.Client(base_url=base_url) as client:
        client.post("/login", data={"username": "alice", "password": "wonderland"})
        cookie = client.cookies["session"]
    asyncio.run(
        sql(
            module_postgres_dsn,
            "INSERT INTO anchor_sessions (id, user_id, data, created_at, expires_at) "
            "SELECT md5(g::text) || md5((g + 1)::text), 'old' || g, '{}', "
            "now() - interval '30 days', now() - interval '1 day' "
            "FROM generate_series(1, 1500) g",
        )
    )
    live_before = asyncio.run(
        sql(module_postgres_dsn, "SELECT count(*) FROM anchor_sessions WHERE expires_at > now()")
    )

    dry = run_cli("--app", "examples.app:anchor", "cleanup", "--dry-run", env=app_env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == "1500 expired sessions would be deleted (dry run)"

    statuses: list[int] = []
    stop = threading.Event()

    def keep_using_the_live_session() -> None:
        with httpx.Client(base_url=base_url, headers={"cookie": f"session={cookie}"}) as c:
            while not stop.is_set():
                statuses.append(c.get("/me").status_code)

    user = threading.Thread(target=keep_using_the_live_session)
    user.start()
    try:
        result = run_cli(
            "--app", "examples.app:anchor", "cleanup", "--batch-size", "200", env=app_env
        )
    finally:
        stop.set()
        user.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert "deleted 1500 expired sessions" in result.stdout
    assert statuses
    assert set(statuses) == {200}
    remaining = asyncio.run(sql(module_postgres_dsn, "SELECT count(*) FROM anchor_sessions"))
    assert remaining == live_before
    with httpx.Client(base_url=base_url, headers={"cookie": f"session={cookie}"}) as c:
        assert c.get("/me").status_code == 200


def test_sessions_lists_and_revoke_session_ends_one(app_env: dict[str, str]) -> None:
    base_url = app_env["BASE_URL"]
    cookies = []
    for _ in range(2):
        with httpx.Client(base_url=base_url) as client:
            client.post("/login", data={"username": "bob", "password": "builder"})
            cookies.append(client.cookies["session"])
    listed = run_cli("--app", "examples.app:anchor", "sessions", "bob", env=app_env)
    assert listed.returncode == 0, listed.stderr
    ids = [line.split()[1] for line in listed.stdout.splitlines() if line.startswith("│ ")]
    assert len(ids) == 2
    assert all(len(i) == 64 for i in ids)
    assert "login_method" in listed.stdout
    for cookie in cookies:
        assert cookie.split(".")[0] not in listed.stdout  # never a token

    one = run_cli("--app", "examples.app:anchor", "revoke", "--session", ids[0], env=app_env)
    assert one.returncode == 0, one.stderr
    results = []
    for cookie in cookies:
        with httpx.Client(base_url=base_url, headers={"cookie": f"session={cookie}"}) as c:
            results.append(c.get("/me").status_code)
    assert sorted(results) == [200, 401]


def test_revoke_by_a_prefix_of_the_id_needs_the_user_and_ends_one(
    app_env: dict[str, str],
) -> None:
    base_url = app_env["BASE_URL"]
    cookies = []
    for _ in range(2):
        with httpx.Client(base_url=base_url) as client:
            client.post("/login", data={"username": "alice", "password": "wonderland"})
            cookies.append(client.cookies["session"])
    # The stored id is the SHA-256 of the token, the part of the cookie before the signature.
    stored_id = hash_token(cookies[0].rsplit(".", 1)[0])
    listed = run_cli("--app", "examples.app:anchor", "sessions", "alice", env=app_env)
    assert stored_id in listed.stdout
    prefix = stored_id[:8]

    without_user = run_cli(
        "--app", "examples.app:anchor", "revoke", "--session", prefix, env=app_env
    )
    assert without_user.returncode == 2
    assert "USER_ID" in without_user.stderr
    too_short = run_cli(
        "--app", "examples.app:anchor", "revoke", "alice", "--session", prefix[:7], env=app_env
    )
    assert too_short.returncode == 2
    assert "at least 8" in too_short.stderr

    one = run_cli(
        "--app", "examples.app:anchor", "revoke", "alice", "--session", prefix, env=app_env
    )
    assert one.returncode == 0, one.stderr
    assert one.stdout.strip() == f"revoked session {stored_id}"
    results = []
    for cookie in cookies:
        with httpx.Client(base_url=base_url, headers={"cookie": f"session={cookie}"}) as c:
            results.append(c.get("/me").status_code)
    assert results == [401, 200]


def test_the_fastapi_app_as_app_exits_2_naming_the_anchor(app_env: dict[str, str]) -> None:
    result = run_cli("--app", "examples.app:app", "sessions", "bob", env=app_env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "FastAPI application" in result.stderr
    assert "examples.app:anchor" in result.stderr


def test_unreachable_database_exits_3(tmp_path: Path) -> None:
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    result = run_cli("--app", "examples.app:anchor", "cleanup", env={"ANCHOR_DATABASE_URL": dsn})
    assert result.returncode == 3
    assert "session store unavailable" in result.stderr


def test_missing_table_exits_4_naming_the_fix(tmp_path: Path, module_postgres_dsn: str) -> None:
    (tmp_path / "elsewhere.py").write_text(
        "from anchor_asyncpg import AsyncpgStore\n"
        "from fastapi_anchor import Anchor\n"
        f"anchor = Anchor(AsyncpgStore({module_postgres_dsn!r}, table='not_created_yet'),\n"
        f"                secret_keys={SECRET!r})\n"
    )
    result = run_cli("--app", "elsewhere:anchor", "sessions", "alice", env={}, app_dir=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "sessions table missing" in result.stderr
    assert "create_table" in result.stderr


def test_a_database_refusing_the_call_exits_5_naming_the_cause(
    app_env: dict[str, str], tmp_path: Path, module_postgres_dsn: str
) -> None:
    # The example app (app_env) has created the table; this role has no privilege on it.
    role = f"anchor_cli_{secrets.token_hex(4)}"
    asyncio.run(sql(module_postgres_dsn, f'CREATE ROLE "{role}" LOGIN'))
    scheme, rest = module_postgres_dsn.split("://", 1)
    dsn = f"{scheme}://{role}@{rest.split('@', 1)[-1]}"
    (tmp_path / "refused.py").write_text(
        "from anchor_asyncpg import AsyncpgStore\n"
        "from fastapi_anchor import Anchor\n"
        f"anchor = Anchor(AsyncpgStore({dsn!r}), secret_keys={SECRET!r})\n"
    )
    try:
        result = run_cli("--app", "refused:anchor", "sessions", "alice", env={}, app_dir=tmp_path)
    finally:
        asyncio.run(sql(module_postgres_dsn, f'DROP ROLE "{role}"'))
    assert result.returncode == 5, result.stderr
    assert "Traceback" not in result.stderr
    assert "42501" in result.stderr
