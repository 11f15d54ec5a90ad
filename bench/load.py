"""Driving a server with wrk, and reading what the load cost (CPU from /proc, in ticks)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TICK = 1 / os.sysconf("SC_CLK_TCK")

# wrk calls `done` once with the merged statistics of every thread; we print them as JSON.
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

FIXED = """
wrk.headers["Cookie"] = "session=" .. "{cookie}"
"""

# Every thread cycles through all the cookies, its requests formatted once in `init`.
ROTATING = """
local path = "{path}"
local requests = {{}}
local next_index = 0
init = function(args)
  for line in io.lines(path) do
    requests[#requests + 1] = wrk.format("GET", "/me", {{["Cookie"] = "session=" .. line}})
  end
  next_index = math.random(#requests) - 1
end
request = function()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int  # socket errors and timeouts
    non_2xx: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def ensure_wrk() -> str:
    """The path of wrk, installed with Debian's package manager when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed; install it (Debian: apt-get install wrk)")
    return found


def write_scripts(directory: Path, fixed_cookie: str, cookies: list[str]) -> dict[str, Path]:
    """wrk Lua scripts for the two cookie modes: one fixed cookie, or rotating through all."""
    cookie_file = directory / "cookies.txt"
    cookie_file.write_text("\n".join(cookies) + "\n")
    scripts = {
        "fixed": FIXED.format(cookie=fixed_cookie) + DONE,
        "rotating": ROTATING.format(path=cookie_file) + DONE,
    }
    paths = {}
    for mode, text in scripts.items():
        paths[mode] = directory / f"{mode}.lua"
        paths[mode].write_text(text)
    return paths


async def run_wrk(
    wrk: str, port: int, script: Path, seconds: float, connections: int, threads: int
) -> LoadResult:
    """One bounded wrk run against `GET /me`."""
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/me",
    ]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), seconds + 30)
    finally:
        if process.returncode is None:  # bounded: stop it by its id
            process.kill()
            await process.wait()
    text = output.decode(errors="replace")
    line = next((x for x in text.splitlines() if x.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    data = json.loads(line.removeprefix("BENCH "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        non_2xx=data["status"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` (all its threads), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK  # utime, stime (fields 14 and 15)


def machine_cpu() -> tuple[float, float]:
    """Seconds every CPU of the machine has been busy, and stolen by the hypervisor."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) * TICK, steal * TICK


def own_cpu() -> float:
    """CPU seconds of this process and of its children already waited for (wrk runs)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
