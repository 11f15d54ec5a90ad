"""Serving one scenario with uvicorn on 127.0.0.1, checking it, and stopping it by its id."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class ScenarioFailed(Exception):
    """A scenario did not start, or answered a check wrongly: its figures would mean nothing."""


@dataclass(frozen=True)
class Server:
    pid: int
    port: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def get(port: int, cookie: str | None, timeout: float = 5.0) -> tuple[int, bytes]:
    """`GET /me` over a fresh connection; return the status code and the body."""
    return await asyncio.wait_for(_get(port, cookie), timeout)


async def _get(port: int, cookie: str | None) -> tuple[int, bytes]:
    headers = "GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    if cookie is not None:
        headers += f"Cookie: session={cookie}\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write((headers + "\r\n").encode("latin-1"))
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@contextlib.asynccontextmanager
async def serve(scenario: Scenario, env: dict[str, str], log_path: Path) -> AsyncIterator[Server]:
    """Run the scenario's app under uvicorn (one process) until the block ends."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        scenario.target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env={**os.environ, **env, **scenario.env}, stdout=log, stderr=log
        )
    try:
        await _wait_ready(process, port, log_path)
        yield Server(process.pid, port)
    finally:
        await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """Stop the process we started, by its id: SIGTERM, then SIGKILL if it lingers."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


async def _wait_ready(process: asyncio.subprocess.Process, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.returncode is not None:
            break
        try:
            await get(port, None, timeout=2.0)
            return
        except (OSError, asyncio.TimeoutError, IndexError, ValueError):
            await asyncio.sleep(0.1)
    tail = log_path.read_bytes()[-3000:].decode(errors="replace")  # noqa: ASYNC240
    raise ScenarioFailed(f"server did not start (exit code {process.returncode}):\n{tail}")


def changed(cookie: str, index: int) -> str:
    """The cookie with one character changed (at `index`: -2 is the signature's last but one)."""
    index %= len(cookie)
    other = "A" if cookie[index] != "A" else "B"
    return cookie[:index] + other + cookie[index + 1 :]


async def check(scenario: Scenario, port: int, valid: tuple[str, str], unknown: str) -> None:
    """Valid cookie: 200 with its user id; missing, tampered and unknown cookies: 401.

    Raises:
        ScenarioFailed: An answer is not the expected one.
    """
    cookie, user_id = valid
    status, body = await get(port, cookie)
    if status != 200 or json.loads(body) != {"user": user_id}:
        raise ScenarioFailed(f"{scenario.key}: valid cookie gave {status} {body[:200]!r}")
    if not scenario.authenticates:
        return
    for what, value in (
        ("missing", None),
        # Not the last character: its two low bits carry no data, and itsdangerous (which
        # B uses) decodes base64 loosely, so B would accept some changes there (Anchor
        # compares the exact text and refuses them; see docs/security.md).
        ("tampered signature", changed(cookie, -2)),
        ("tampered token", changed(cookie, 0)),
        ("unknown", unknown),
    ):
        status, body = await get(port, value)
        if status != 401:
            raise ScenarioFailed(f"{scenario.key}: {what} cookie gave {status} {body[:200]!r}")
