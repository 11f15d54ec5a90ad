"""Serving a scenario with uvicorn on 127.0.0.1 and loading it with wrk (both bounded in time
and stopped by their id); CPU time from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

from bench.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
TICK = 1 / os.sysconf("SC_CLK_TCK")

# wrk calls `done` once with every thread's statistics merged; it prints them as JSON.
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "rate": %f, "errors": %d, "non_2xx": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}\\n', summary.requests, summary.requests * 1e6
    / summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""
FIXED = 'wrk.headers["Cookie"] = "session={cookie}"\n'
# Each thread cycles through every cookie, its requests formatted once in `init`.
ROTATING = """
local requests, next_index = {{}}, 0
init = function(args)
  for line in io.lines("{path}") do
    requests[#requests + 1] = wrk.format("GET", "/me", {{["Cookie"] = "session=" .. line}})
  end
  next_index = math.random(#requests) - 1
end
request = function()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
"""


class Server(NamedTuple):
    pid: int
    port: int


class ScenarioFailed(Exception):
    """A scenario did not start, or answered a check wrongly: its figures would mean nothing."""


def write_scripts(directory: Path, cookies: list[str]) -> None:
    """wrk's Lua scripts for the two cookie modes (wrk installed first when missing)."""
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, timeout=600)
    (directory / "cookies.txt").write_text("\n".join(cookies) + "\n")
    (directory / "fixed.lua").write_text(FIXED.format(cookie=cookies[0]) + DONE)
    (directory / "rotating.lua").write_text(ROTATING.format(path=directory / "cookies.txt") + DONE)


async def wrk(port: int, script: Path, seconds: float, connections: int = 32) -> dict[str, float]:
    """One bounded `wrk -t1` run against `GET /me`: requests, rate, errors, non_2xx, p50/p99 ms."""
    command = [shutil.which("wrk") or "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s"]
    command += ["--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{port}/me"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), seconds + 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    line = next((x for x in text.splitlines() if x.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    return dict(json.loads(line.removeprefix("BENCH ")))


async def get(port: int, cookie: str | None) -> tuple[int, bytes]:
    """`GET /me` over a fresh connection: the status code and the body."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    head = "GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "" if cookie is None else f"Cookie: session={cookie}\r\n"
    try:
        writer.write((head + "\r\n").encode("latin-1"))
        response = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    status, _, body = response.partition(b"\r\n\r\n")
    return int(status.split(b" ", 2)[1]), body


@contextlib.asynccontextmanager
async def serve(scenario: Scenario, env: dict[str, str], log: Path) -> AsyncIterator[Server]:
    """Run the scenario's app under uvicorn (one process) until the block ends."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    options = f"--host 127.0.0.1 --port {port} --loop uvloop --http httptools --no-access-log"
    command = [sys.executable, "-m", "uvicorn", "bench.apps." + scenario.target, *options.split()]
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                await get(port, None)
                break
            except (OSError, asyncio.TimeoutError, IndexError, ValueError):
                if process.returncode is not None or time.monotonic() > deadline:
                    tail = log.read_bytes()[-3000:].decode(errors="replace")  # noqa: ASYNC240
                    raise ScenarioFailed(f"{scenario.key} did not start:\n{tail}") from None
                await asyncio.sleep(0.1)
        yield Server(process.pid, port)
    finally:
        if process.returncode is None:  # SIGTERM, then SIGKILL if it lingers
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()


async def check(scenario: Scenario, port: int, valid: tuple[str, str], unknown: str) -> None:
    """Valid cookie: 200 with its user id; missing, tampered and unknown cookies: 401."""
    cookie, user_id = valid
    status, body = await get(port, cookie)
    if status != 200 or json.loads(body) != {"user": user_id}:
        raise ScenarioFailed(f"{scenario.key}: valid cookie gave {status} {body[:200]!r}")
    # Not the signature's last character: its two low bits carry no data, and itsdangerous
    # (under B) decodes base64 loosely (FastAPI Anchor compares the exact text).
    signature = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    token = ("A" if cookie[0] != "A" else "B") + cookie[1:]
    bad = {"missing": None, "tampered signature": signature, "tampered token": token}
    for what, value in {**bad, "unknown": unknown}.items() if scenario.checks else ():
        status, body = await get(port, value)
        if status != 401:
            raise ScenarioFailed(f"{scenario.key}: {what} cookie gave {status} {body[:200]!r}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` (all its threads), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK  # utime, stime
