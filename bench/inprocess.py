"""Per-request CPU of each scenario's app called in-process: no HTTP server, no wrk.

`hatch run bench:inprocess` (or `python -m bench.inprocess --scenarios B,asyncpg --profile 30`)
creates a database like the load benchmark, imports each scenario's app, runs its lifespan and
calls it as an ASGI app with `GET /me` and a valid cookie, 32 requests at a time, measuring the
process's CPU time per request. Every app runs all along (pools of 4 connections, as in the
load benchmark) and the samples are taken round after round, in an order changed every round;
with many short samples (by default 60 of 640 requests) their 20th percentile shows the cost
while the machine ran at full speed. It isolates the cost of the Python code (FastAPI, Anchor, the
store, the driver) from the HTTP server's and the network's. `--profile` prints the functions
that take the most time (cProfile) for each scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib
import io
import json
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg

from bench import database
from bench.scenarios import BY_KEY, SCENARIOS
from fastapi_anchor.cookies import CookieSigner
from fastapi_anchor.tokens import hash_token, new_token

Message = dict[str, Any]
App = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


async def lifespan(
    app: App, phase: str, state: dict[str, Any], queue: asyncio.Queue[Message]
) -> None:
    await queue.put({"type": f"lifespan.{phase}"})


async def serve_lifespan(
    app: App,
) -> tuple[asyncio.Task[None], asyncio.Queue[Message], asyncio.Queue[Message], dict[str, Any]]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    state: dict[str, Any] = {}
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    reply = await outbox.get()
    if reply["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"startup failed: {reply}")
    return task, inbox, outbox, state


def http_scope(cookie: str, state: dict[str, Any]) -> Message:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/me",
        "raw_path": b"/me",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"bench"),
            (b"accept", b"*/*"),
            (b"cookie", f"session={cookie}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": dict(state),
    }


async def call(app: App, scope: Message) -> int:
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def drive(
    app: App, cookies: list[str], state: dict[str, Any], requests: int, concurrency: int
) -> float:
    """CPU seconds per request over `requests` calls, `concurrency` at a time."""
    scopes = [http_scope(cookie, state) for cookie in cookies]
    per_worker = requests // concurrency

    async def worker(offset: int) -> None:
        for n in range(per_worker):
            status = await call(app, scopes[(offset + n) % len(scopes)])
            if status != 200:
                raise RuntimeError(f"status {status}")

    started = time.process_time()
    await asyncio.gather(*(worker(i * 31) for i in range(concurrency)))
    return (time.process_time() - started) / (per_worker * concurrency)


@dataclass
class Served:
    """A scenario's app with its lifespan running."""

    key: str
    app: App
    state: dict[str, Any]
    samples: list[float] = field(default_factory=list)
    profile: str = ""


@contextlib.asynccontextmanager
async def served(key: str) -> AsyncIterator[Served]:
    """Import the scenario's app, run its lifespan's startup, then its shutdown on exit."""
    module_name, _, attribute = BY_KEY[key].target.partition(":")
    app = getattr(importlib.import_module(module_name), attribute)
    task, inbox, outbox, state = await serve_lifespan(app)
    try:
        yield Served(key, app, state)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def profile(one: Served, cookies: list[str], args: argparse.Namespace) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    await drive(one.app, cookies, one.state, args.requests, args.concurrency)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.profile_sort).print_stats(args.profile)
    return out.getvalue()


async def measure(cookies: list[str], args: argparse.Namespace) -> list[Served]:
    """Every scenario served at once, sampled round after round in a changing order.

    Interleaving spreads slow spells of the machine over every scenario alike, as the load
    benchmark does.
    """
    async with contextlib.AsyncExitStack() as stack:
        apps = [await stack.enter_async_context(served(key)) for key in args.scenarios]
        for one in apps:
            await drive(one.app, cookies, one.state, 2000, args.concurrency)  # warm-up
        for round_number in range(args.repeats):
            shift = round_number % len(apps)
            for one in apps[shift:] + apps[:shift]:
                cpu = await drive(one.app, cookies, one.state, args.requests, args.concurrency)
                one.samples.append(cpu * 1e6)
        if args.profile:
            for one in apps:
                one.profile = await profile(one, cookies, args)
    return apps


def quiet(samples: list[float]) -> float:
    """The sample at the 20th percentile: the process's cost while the machine ran at speed.

    A virtual machine's host can slow it down for spells of a fraction of a second; a short
    sample that falls in one costs more CPU time for the same work. Over many short samples
    the low ones are those that ran at full speed.
    """
    ordered = sorted(samples)
    return ordered[(len(ordered) - 1) // 5]


def print_ratios(results: list[dict[str, Any]]) -> None:
    """Each scenario's quiet cost against the references in the run (cost ratio, inverted)."""
    cost = {result["scenario"]: result["quiet_us"] for result in results}
    references = [key for key in ("A", "A-dep", "B", "B-dep") if key in cost]
    if not references:
        return
    print("\nratios of quiet CPU per request (reference / scenario, like x A and x B):")
    for key, us in cost.items():
        cells = "  ".join(f"x {ref} {cost[ref] / us:.2f}" for ref in references)
        print(f"{key:<12} {cells}")


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    admin = await asyncpg.connect(args.server_dsn)
    db = await database.create_database(admin)
    results = []
    try:
        dsn = database.with_database(args.server_dsn, db)
        table = "anchor_sessions_10000"
        sessions = []
        for number in range(1000):
            token = new_token()
            sessions.append(database.Session(token, hash_token(token), f"user-{number:04d}"))
        now = datetime.now(timezone.utc)
        await database.load_table(dsn, table, 10_000, sessions, now, now + timedelta(days=14))
        secret = "bench-" + secrets.token_urlsafe(32)
        signer = CookieSigner(secret)
        cookies = [signer.sign(s.token) for s in sessions]
        with tempfile.TemporaryDirectory(prefix="anchor-bench-") as tmp:
            spec = Path(tmp) / "sessions.json"
            spec.write_text(
                json.dumps(
                    {
                        "created_at": now.isoformat(),
                        "expires_at": (now + timedelta(days=14)).isoformat(),
                        "sessions": [{"token": s.token, "user_id": s.user_id} for s in sessions],
                        "filler": 9000,
                    }
                )
            )
            os.environ.update(
                {
                    "BENCH_DSN": dsn,
                    "BENCH_TABLE": table,
                    "BENCH_SECRET": secret,
                    "BENCH_SESSIONS": str(spec),
                    "BENCH_POOL_SIZE": "4",
                }
            )
            for one in await measure(cookies, args):
                result = {
                    "scenario": one.key,
                    "us": statistics.median(one.samples),
                    "quiet_us": quiet(one.samples),
                    "samples": one.samples,
                }
                results.append(result)
                print(
                    f"{one.key:<12} {result['us']:7.1f} us/request median, "
                    f"{result['quiet_us']:7.1f} p20 of {len(one.samples)} samples",
                    flush=True,
                )
                if one.profile:
                    print(one.profile)
            print_ratios(results)
    finally:
        await database.drop_database(admin, db)
        await admin.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inprocess", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--scenarios",
        type=lambda s: list(dict.fromkeys(s.split(","))),  # each once
        default=[s.key for s in SCENARIOS],
    )
    parser.add_argument("--requests", type=int, default=640, help="per sample")
    parser.add_argument("--repeats", type=int, default=60, help="samples per app")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the top N functions"
    )
    parser.add_argument(
        "--profile-sort", default="tottime", choices=["tottime", "cumulative", "ncalls"]
    )
    parser.add_argument(
        "--server-dsn",
        default=os.environ.get("BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(args))
    else:
        uvloop.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
