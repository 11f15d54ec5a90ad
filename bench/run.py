"""The benchmark runner: each scenario's app served and loaded with wrk, or called in-process.

Served: every app served by its own uvicorn process and checked, then loaded one at a time with
wrk in short slices, round after round in a changing order, with one fixed cookie and rotating
through 1,000 sessions; then each table reader served alone to count its statements per request.
In-process: every app called as an ASGI app in short samples; their 20th percentile of CPU time
per request is the app's cost at full speed. Results go to bench/results/.
"""

# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, MutableMapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import asyncpg
from fastapi import FastAPI

from bench import database, report, served
from bench.report import Measurement
from bench.scenarios import BY_KEY, SCENARIOS, Scenario
from fastapi_anchor.cookies import CookieSigner
from fastapi_anchor.tokens import hash_token, new_token

RESULTS = Path(__file__).resolve().parent / "results"
SERVER_DSN = os.environ.get("BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
SESSIONS = int(os.environ.get("BENCH_COOKIES", "1000"))  # cookies the load rotates over
TABLE = "anchor_sessions_{}"
PRESETS: dict[str, dict[str, Any]] = {
    "full": {"rounds": 8, "sizes": [10_000, 1_000_000], "seconds": 2, "warmup": 2, "samples": 60},
    "quick": {"rounds": 1, "sizes": [10_000], "seconds": 3, "warmup": 1, "samples": 10},
}
Message = MutableMapping[str, Any]


@dataclass(frozen=True)
class Setup:
    """The benchmark's database and what the apps and the load need to reach it."""

    admin: asyncpg.Connection
    db: str
    env: dict[str, str]  # for the apps; BENCH_TABLE is the first size's table
    cookies: list[str]  # signed, one per benchmark session
    user: str  # the user id of the first cookie's session
    unknown: str  # a well-signed cookie of no session
    directory: Path


@contextlib.asynccontextmanager
async def prepared(sizes: list[int]) -> AsyncIterator[Setup]:
    """A database of its own with one loaded table per size, dropped at the end."""
    admin, db = await asyncpg.connect(SERVER_DSN), f"anchor_bench_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{db}"')
    try:
        dsn = f"{SERVER_DSN.rsplit('/', 1)[0]}/{db}"
        tokens = [new_token() for _ in range(SESSIONS)]
        users = [f"user-{n:04d}" for n in range(SESSIONS)]
        created = datetime.now(timezone.utc)
        expires = created + timedelta(days=14)  # fresh sessions: no sliding refresh, no write
        for rows in sizes:
            print(f"loading {rows:,} rows into {db}.{TABLE.format(rows)}", flush=True)
            ids = [(hash_token(token), user) for token, user in zip(tokens, users, strict=True)]
            await database.load_table(dsn, TABLE.format(rows), rows, ids, created, expires)
        secret = "bench-" + secrets.token_urlsafe(32)
        signer = CookieSigner(secret)
        with tempfile.TemporaryDirectory(prefix="anchor-bench-") as tmp:
            spec = Path(tmp) / "sessions.json"
            sessions = [{"token": t, "user_id": u} for t, u in zip(tokens, users, strict=True)]
            times = {"created_at": created.isoformat(), "expires_at": expires.isoformat()}
            filler = sizes[0] - SESSIONS  # the memory store's, at the first size
            spec.write_text(json.dumps({**times, "sessions": sessions, "filler": filler}))
            env = {"BENCH_DSN": dsn, "BENCH_SECRET": secret, "BENCH_SESSIONS": str(spec)}
            env |= {"BENCH_POOL_SIZE": "4", "BENCH_TABLE": TABLE.format(sizes[0])}
            cookies = [signer.sign(token) for token in tokens]
            yield Setup(admin, db, env, cookies, users[0], signer.sign(new_token()), Path(tmp))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def cpu(setup: Setup, pid: int) -> tuple[float, dict[int, float]]:
    """CPU seconds so far: the uvicorn process, each backend of the benchmark database."""
    pids = await database.backend_pids(setup.admin, setup.db)
    return served.cpu_seconds(pid), {p: served.cpu_seconds(p) for p in pids}


async def measure_slice(
    setup: Setup, server: served.Server, seconds: float, where: tuple[str, int, str, int]
) -> Measurement:
    """One wrk slice, with the CPU time it cost the server and PostgreSQL."""
    server_before, backends_before = await cpu(setup, server.pid)
    load = await served.wrk(server.port, setup.directory / f"{where[2]}.lua", seconds)
    server_after, backends_after = await cpu(setup, server.pid)
    us = 1e6 / max(load["requests"], 1)
    pg = sum(t - backends_before.get(p, t) for p, t in backends_after.items())
    return Measurement(
        *where, load["rate"], load["p50_ms"], load["p99_ms"], (server_after - server_before) * us,
        pg * us, 0.0, int(load["errors"]), int(load["non_2xx"]),
    )  # fmt: skip


async def count_statements(setup: Setup, scenario: Scenario, rows: int) -> float:
    """Transactions per request that reached the store, over one server's whole life."""
    env = {**setup.env, "BENCH_TABLE": TABLE.format(rows)}
    before = await database.transactions(setup.admin, setup.db)
    log = setup.directory / f"{scenario.key}-{rows}-count.log"
    async with served.serve(scenario, env, log) as server:
        await served.check(scenario, server.port, (setup.cookies[0], setup.user), setup.unknown)
        load = await served.wrk(server.port, setup.directory / "rotating.lua", 1, connections=8)
    # Backends publish their counters late when idle, but always when they exit.
    await database.wait_disconnected(setup.admin, setup.db)
    after = await database.transactions(setup.admin, setup.db)
    return (after - before) / (load["requests"] + 2)  # the check's valid and unknown cookies too


async def run_served(args: argparse.Namespace, setup: Setup) -> list[Measurement]:
    """Every (table size, scenario) served at once; round after round, one loaded at a time."""
    served.write_scripts(setup.directory, setup.cookies)
    first = args.sizes[0]
    lineup = [
        (rows, scenario)
        for rows in args.sizes
        for scenario in args.scenarios
        if rows == first or (scenario.table and not scenario.extra)
    ]
    results: list[Measurement] = []
    async with contextlib.AsyncExitStack() as stack:
        servers: dict[tuple[int, str], served.Server] = {}
        for rows, scenario in lineup:
            env = {**setup.env, "BENCH_TABLE": TABLE.format(rows)}
            log = setup.directory / f"{scenario.key}-{rows}.log"
            server = await stack.enter_async_context(served.serve(scenario, env, log))
            valid = (setup.cookies[0], setup.user)
            await served.check(scenario, server.port, valid, setup.unknown)
            await served.wrk(server.port, setup.directory / "rotating.lua", args.warmup)
            servers[rows, scenario.key] = server
        print(f"serving {len(servers)} apps; {args.rounds} round(s)", flush=True)
        for number in range(1, args.rounds + 1):
            shift = number * 3 % len(lineup)  # a different order every round
            for rows, scenario in lineup[shift:] + lineup[:shift]:
                for mode in report.MODES:
                    server = servers[rows, scenario.key]
                    where = (scenario.key, rows, mode, number)
                    results.append(await measure_slice(setup, server, args.seconds, where))
            done = [m for m in results if m.round == number and m.mode == "rotating"]
            rates = ", ".join(f"{m.scenario}@{m.rows:,} {m.rate:,.0f}" for m in done)
            print(f"  round {number} (rotating, req/s): {rates}", flush=True)
    print("counting statements per request", flush=True)
    statements = {
        (rows, scenario.key): await count_statements(setup, scenario, rows)
        for rows, scenario in lineup
        if scenario.table
    }
    return [replace(m, statements=statements.get((m.rows, m.scenario), 0.0)) for m in results]


def app_of(scenario: Scenario) -> FastAPI:
    module, _, attribute = ("bench.apps." + scenario.target).partition(":")
    return cast(FastAPI, getattr(importlib.import_module(module), attribute))


async def drive(app: FastAPI, cookies: list[str], requests: int) -> float:
    """CPU seconds per request of `GET /me` over `requests` calls, 32 at a time."""
    base: dict[str, Any] = {"type": "http", "asgi": {"version": "3.0"}, "path": "/me"}
    base |= {"http_version": "1.1", "method": "GET", "scheme": "http", "raw_path": b"/me"}
    base |= {"query_string": b""}
    base |= {"root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    headers = [(b"host", b"127.0.0.1"), (b"accept", b"*/*")]
    cookie_headers = [(b"cookie", f"session={c}".encode()) for c in cookies]
    scopes = [{**base, "headers": [*headers, c], "state": {}} for c in cookie_headers]

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    async def worker(offset: int) -> None:
        for n in range(requests // 32):
            await app(scopes[(offset + n) % len(scopes)], receive, send)

    begun = time.process_time()
    await asyncio.gather(*(worker(i * 31) for i in range(32)))
    return (time.process_time() - begun) / (requests // 32 * 32)


async def run_inprocess(args: argparse.Namespace, setup: Setup) -> dict[str, list[float]]:
    """Every app started at once, sampled round after round in a changing order."""
    os.environ.update(setup.env)  # before the apps' modules read them
    samples: dict[str, list[float]] = {s.key: [] for s in args.scenarios}
    async with contextlib.AsyncExitStack() as stack:
        apps = [(s.key, app_of(s)) for s in args.scenarios]
        for _key, app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
            await drive(app, setup.cookies, 2048)  # warm-up
        for number in range(args.samples):
            shift = number % len(apps)
            for key, app in apps[shift:] + apps[:shift]:
                samples[key].append(await drive(app, setup.cookies, 640) * 1e6)
    return samples


def machine() -> str:
    cpus = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":")[1].strip() for x in cpus if x.startswith("model name")), "CPU")
    names = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "asyncpg", "sqlalchemy")
    versions = ", ".join(f"{n} {version(n)}" for n in (*names, "tortoise-orm", "piccolo"))
    system = f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores; {system}; PostgreSQL on the same machine; {versions}"


async def run(args: argparse.Namespace) -> str:
    """One run: its report in Markdown, saved with its raw figures under bench/results/."""
    begun = datetime.now(timezone.utc)
    async with prepared(args.sizes if not args.inprocess else args.sizes[:1]) as setup:
        found = await (run_inprocess if args.inprocess else run_served)(args, setup)
    minutes = round((datetime.now(timezone.utc) - begun).total_seconds() / 60, 1)
    settings = f"wrk -t1 -c32 -d{args.seconds}s per slice, {args.rounds} round(s) after "
    settings += f"{args.warmup}s of warm-up; uvicorn, one process, uvloop and httptools"
    if args.inprocess:
        settings = f"{args.samples} samples of 640 requests per app, 32 in flight"
    context = {"command": "python -m bench.run " + " ".join(sys.argv[1:]), "minutes": minutes}
    context |= {"started": begun.isoformat(timespec="seconds"), "machine": machine()}
    context |= {"settings": settings + "; pools of 4 connections"}
    stem = f"{begun:%Y-%m-%dT%H%M}-{args.preset}{'-inprocess' if args.inprocess else ''}"
    RESULTS.mkdir(exist_ok=True)
    if isinstance(found, dict):
        raw: dict[str, Any] = {"context": context, "inprocess": found}
        text = "\n".join([f"`{context['command']}`: {settings}\n", *report.inprocess_table(found)])
    else:
        raw = {"context": context, "results": [asdict(m) for m in found]}
        text = report.markdown(found, context)
    (RESULTS / f"{stem}.json").write_text(json.dumps(raw, indent=1))
    (RESULTS / f"{stem}.md").write_text(text + "\n")
    return f"{text}\nwritten: {RESULTS / stem}.md and .json"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="full")
    parser.add_argument("--inprocess", action="store_true", help="call the apps in-process")
    parser.add_argument("--scenarios", help=f"comma-separated, among {','.join(BY_KEY)}")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--rounds", type=int, help="served rounds, or in-process samples")
    parser.add_argument("--seconds", type=float, help="length of each served slice")
    args = parser.parse_args()
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if args.inprocess and args.rounds:
        args.samples = args.rounds
    keys_given = args.scenarios.split(",") if args.scenarios else list(BY_KEY)
    if unknown := set(keys_given) - set(BY_KEY):
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    args.scenarios = [s for s in SCENARIOS if s.key in keys_given]
    run_loop: Callable[[Coroutine[Any, Any, str]], str] = importlib.import_module("uvloop").run
    print(run_loop(run(args)))


if __name__ == "__main__":
    main()
