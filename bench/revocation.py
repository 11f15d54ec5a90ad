"""Revocation latency: how soon a logout on one worker is refused by another, cache and all.

Two uvicorn processes (two workers) serve `bench.apps.revocation` on one PostgreSQL table,
each with its own session cache kept by its own change feed. Each trial logs in on A, warms
B's cache, then hammers B with the cookie while A logs it out; the latency is from A's logout
response (its commit is before it) to B's first 401. A 200 from a request B received after
the logout response is a stale answer.

    hatch run bench:revocation [--trials 300]
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx

from bench.scenarios import Scenario
from bench.served import serve

SERVER_DSN = os.environ.get("BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
APP = Scenario("revocation", "revocation latency", "revocation:app", checks=False)


async def trial(a: httpx.AsyncClient, b: httpx.AsyncClient) -> tuple[float, int]:
    """One logout on A while B is hammered: (latency in ms, stale 200s)."""
    cookie = (await a.post("/login")).cookies["session"]
    headers = {"cookie": f"session={cookie}"}
    for _ in range(2):  # the second is served from B's cache
        assert (await b.get("/me", headers=headers)).status_code == 200
    logged_out = asyncio.Event()
    logout_done = 0.0
    stale = 0

    async def hammer() -> float:
        nonlocal stale
        while True:
            sent_after_logout = logged_out.is_set()
            status = (await b.get("/me", headers=headers)).status_code
            if status == 401:
                return time.perf_counter()
            stale += sent_after_logout

    hammering = asyncio.create_task(hammer())
    await asyncio.sleep(0.002)
    assert (await a.post("/logout", headers=headers)).status_code == 200
    logout_done = time.perf_counter()
    logged_out.set()
    first_401 = await asyncio.wait_for(hammering, 10)
    return (first_401 - logout_done) * 1000, stale


async def main(trials: int) -> None:
    admin, db = await asyncpg.connect(SERVER_DSN), f"anchor_revocation_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        env = {
            "BENCH_DSN": f"{SERVER_DSN.rsplit('/', 1)[0]}/{db}",
            "BENCH_SECRET": "bench-" + secrets.token_urlsafe(32),
            "BENCH_TABLE": "anchor_sessions",
        }
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "servers.log"
            async with (
                serve(APP, env, log) as first,
                serve(APP, env, log) as second,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{first.port}") as a,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{second.port}") as b,
            ):
                results = [await trial(a, b) for _ in range(trials)]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    latencies = sorted(latency for latency, _ in results)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{trials} trials: logout on worker A, first 401 on worker B (ms after A's response)")
    print(f"p50 {cuts[49]:.2f}  p90 {cuts[89]:.2f}  p99 {cuts[98]:.2f}  max {latencies[-1]:.2f}")
    print(f"stale 200s (requests sent after the logout response): {sum(s for _, s in results)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.revocation", description=__doc__)
    parser.add_argument("--trials", type=int, default=300)
    importlib.import_module("uvloop").run(main(parser.parse_args().trials))
