"""Load benchmark: Anchor with each store against a no-auth ceiling and a hand-written minimum.

`hatch run bench:run` (full: every scenario, 10k and 1M rows, interleaved rounds) or
`hatch run bench:quick` (a smoke run: 10k rows, one round). Not part of the test run.

What one run does:
1. creates a database of its own on the PostgreSQL server (dropped at the end), with one
   shared sessions table per size (10k and 1M rows; `create_table_sql`), holding 1,000
   benchmark sessions among generated filler rows;
2. serves every scenario's app on every table size at once, each with its own uvicorn
   process on 127.0.0.1 (uvloop, httptools), checks each (valid cookie 200 with the user
   id; missing, tampered and unknown cookies 401) and warms it up; then, round after round,
   loads one server at a time with wrk for a short slice, with one fixed cookie and then
   rotating through the 1,000 sessions, in an order changed every round. Idle servers use no
   CPU, and slow spells of the machine fall on every scenario alike. Around each slice it
   reads the CPU time of the server process, of the PostgreSQL backends and of the whole
   machine (/proc); then it stops the servers;
3. counts the statements per request of each scenario that reads the table: the server
   alone, a short load, then PostgreSQL's transaction counters once its connections are
   closed (backends publish them on exit);
4. writes a Markdown table (and the raw figures as JSON) to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg

from bench import database, load, report, server
from bench.measurement import Measurement
from bench.scenarios import BY_KEY, SCENARIOS, Scenario
from fastapi_anchor.cookies import CookieSigner
from fastapi_anchor.tokens import hash_token, new_token

RESULTS = Path(__file__).resolve().parent / "results"
SECRET = "bench-" + secrets.token_urlsafe(32)
SESSIONS = 1000
MODES = ("fixed", "rotating")

PRESETS: dict[str, dict[str, Any]] = {
    "full": {"rounds": 8, "sizes": [10_000, 1_000_000], "seconds": 2, "warmup": 2},
    "quick": {"rounds": 1, "sizes": [10_000], "seconds": 3, "warmup": 1},
}


def table_name(rows: int) -> str:
    return f"anchor_sessions_{rows}"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="full")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=int, help="length of each measured wrk run")
    parser.add_argument("--warmup", type=int, help="seconds of unmeasured load before")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=[s.key for s in SCENARIOS],
        help=f"comma-separated, from {','.join(s.key for s in SCENARIOS)}",
    )
    parser.add_argument(
        "--server-dsn",
        default=os.environ.get("BENCH_SERVER_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a database of the server to connect to first (the benchmark creates its own)",
    )
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.25,
        help="most CPU (in cores) other work may use during a window before it is measured again",
    )
    parser.add_argument("--retries", type=int, default=2, help="per scenario run")
    parser.add_argument("--retry-budget", type=int, default=8, help="for the whole run")
    parser.add_argument(
        "--compare-with",
        metavar="PYTHONPATH",
        help="also serve each FastAPI Anchor scenario with this first on PYTHONPATH (changed "
        "code), in the same run, as `<scenario>*`",
    )
    parser.add_argument(
        "--paired",
        action="store_true",
        help="load each scenario right after its reference (A or B), cookie mode by cookie "
        "mode, and take ratios from those adjacent slices: steadier when the machine's speed "
        "drifts",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.compare_with:
        args.compare_with = os.path.abspath(args.compare_with)
    unknown = set(args.scenarios) - set(BY_KEY)
    if unknown:
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    if args.paired and not {"A", "B"} <= set(args.scenarios):
        parser.error("--paired needs the references A and B among the scenarios")
    return args


def lineup(scenarios: list[Scenario], rows: int, first_size: int) -> list[Scenario]:
    """Who runs at this size: everyone at the first, the table readers of the targets after."""
    return [s for s in scenarios if rows == first_size or (s.uses_table and not s.extra)]


def reference(scenario: Scenario, rows: int, first_size: int) -> tuple[int, str] | None:
    """The (table size, scenario) a paired run loads right before `scenario`.

    The ceiling for what reads no table and for B at the first size; B at the first size for
    B at the others; B at the same size for everything else. None for the ceiling itself.
    """
    key = scenario.key
    if key == "A":
        return None
    if not scenario.uses_table or (key == "B" and rows == first_size):
        return first_size, "A"
    if key == "B":
        return first_size, "B"
    return rows, "B"


class Bench:
    def __init__(self, args: argparse.Namespace, admin: asyncpg.Connection, db: str) -> None:
        self.args = args
        self.admin = admin
        self.db = db
        self.dsn = database.with_database(args.server_dsn, db)
        self.results: list[Measurement] = []
        self.statements: dict[tuple[int, str], tuple[float, float]] = {}
        self.retries_left = args.retry_budget
        self.order = 0  # slices measured so far

    async def snapshot(self, pid: int) -> Snapshot:
        """CPU time so far: server, PostgreSQL backends, the whole machine, the harness."""
        pids = await database.backend_pids(self.admin, self.db)
        busy, steal = load.machine_cpu()
        return Snapshot(
            wall=time.monotonic(),
            server=load.cpu_seconds(pid),
            backends={p: load.cpu_seconds(p) for p in pids},
            machine=busy,
            steal=steal,
            own=load.own_cpu(),
        )

    async def run_all(
        self, lineup: list[tuple[int, Scenario]], env: dict[str, str], fixtures: dict[str, Any]
    ) -> None:
        """Every (table size, scenario) served at once; round after round, one loaded at a time."""
        args = self.args
        wrk, scripts = fixtures["wrk"], fixtures["scripts"]
        async with contextlib.AsyncExitStack() as stack:
            servers: dict[tuple[int, str], server.Server] = {}
            for rows, scenario in lineup:
                log = fixtures["dir"] / f"{scenario.key}-{rows}.log"
                table_env = {**env, "BENCH_TABLE": table_name(rows)}
                served = await stack.enter_async_context(server.serve(scenario, table_env, log))
                await server.check(scenario, served.port, fixtures["valid"], fixtures["unknown"])
                await load.run_wrk(
                    wrk, served.port, scripts["rotating"], args.warmup, args.connections, 1
                )
                servers[rows, scenario.key] = served
            print(f"serving {len(servers)} apps; {args.rounds} rounds", flush=True)
            first = lineup[0][0]
            for round_index in range(args.rounds):
                shift = round_index * 3 % len(lineup)  # a different order every round
                for rows, scenario in lineup[shift:] + lineup[:shift]:
                    before = reference(scenario, rows, first) if args.paired else None
                    if args.paired and before is None:
                        continue  # the ceiling: loaded as the reference of others
                    for mode in MODES:
                        if before is not None:
                            ref_rows, ref_key = before
                            await self.slice(
                                BY_KEY[ref_key],
                                ref_rows,
                                mode,
                                round_index,
                                servers[ref_rows, ref_key],
                                scripts[mode],
                                wrk,
                            )
                        await self.slice(
                            scenario,
                            rows,
                            mode,
                            round_index,
                            servers[rows, scenario.key],
                            scripts[mode],
                            wrk,
                        )
                done = [m for m in self.results if m.round == round_index + 1]
                print(
                    f"  round {round_index + 1}: "
                    + ", ".join(
                        f"{m.scenario}{'' if m.rows == args.sizes[0] else f'@{m.rows:,}'} "
                        f"{m.rate:.0f}"
                        for m in done
                        if m.mode == "rotating"
                    )
                    + " req/s (rotating)",
                    flush=True,
                )

    async def slice(
        self,
        scenario: Scenario,
        rows: int,
        mode: str,
        round_index: int,
        served: server.Server,
        script: Path,
        wrk: str,
    ) -> None:
        """One measured wrk run; again (within the budget) if other work ran meanwhile."""
        args = self.args
        best: Measurement | None = None
        for _attempt in range(1 + args.retries):
            before = await self.snapshot(served.pid)
            result = await load.run_wrk(
                wrk, served.port, script, args.seconds, args.connections, args.threads
            )
            after = await self.snapshot(served.pid)
            found = figures(scenario, rows, mode, round_index, result, before, after)
            found = replace(found, order=self.order)
            if best is None or found.background_cores < best.background_cores:
                best = found
            if found.background_cores <= args.quiet or self.retries_left <= 0:
                break
            self.retries_left -= 1
            print(
                f"    {scenario.key} {mode}: other work used {found.background_cores:.2f} cores"
                " meanwhile: again",
                flush=True,
            )
        assert best is not None
        self.results.append(best)
        self.order += 1

    async def count_statements(
        self, rows: int, scenario: Scenario, env: dict[str, str], fixtures: dict[str, Any]
    ) -> None:
        """Transactions per request that reached the store, over one server's whole life."""
        env = {**env, "BENCH_TABLE": table_name(rows)}
        log = fixtures["dir"] / f"{scenario.key}-{rows}-count.log"
        before = await database.transactions(self.admin, self.db)
        async with server.serve(scenario, env, log) as served:
            await server.check(scenario, served.port, fixtures["valid"], fixtures["unknown"])
            result = await load.run_wrk(
                fixtures["wrk"], served.port, fixtures["scripts"]["rotating"], 1, 8, 1
            )
        # Backends publish their counters when idle, at most once a second (and may hold
        # them for 10 s), but always when they exit.
        await database.wait_disconnected(self.admin, self.db)
        after = await database.transactions(self.admin, self.db)
        # The valid and unknown cookies of the check reach the store (the others fail before).
        requests = max(result.requests + 2, 1)
        commits, rollbacks = after[0] - before[0], after[1] - before[1]
        self.statements[rows, scenario.key] = (
            (commits + rollbacks) / requests,
            rollbacks / requests,
        )

    def finish(self) -> list[Measurement]:
        """The measurements with the statement counts filled in."""
        out = []
        for m in self.results:
            counted = self.statements.get((m.rows, m.scenario))
            out.append(
                m if counted is None else replace(m, statements=counted[0], rollbacks=counted[1])
            )
        return out


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds used so far, at `wall` (monotonic seconds)."""

    wall: float
    server: float  # the uvicorn process
    backends: dict[int, float]  # each PostgreSQL backend of the benchmark database
    machine: float  # every CPU of the machine, busy (/proc/stat), steal excluded
    steal: float  # taken by the hypervisor for other guests
    own: float  # the harness and its reaped children (wrk)


def figures(
    scenario: Scenario,
    rows: int,
    mode: str,
    round_index: int,
    result: load.LoadResult,
    before: Snapshot,
    after: Snapshot,
) -> Measurement:
    n = max(result.requests, 1)
    server_cpu = after.server - before.server
    pg_cpu = sum(cpu - before.backends.get(pid, cpu) for pid, cpu in after.backends.items())
    wall = max(after.wall - before.wall, 1e-9)
    # What else ran on the machine meanwhile: all busy CPU time but ours.
    other = (after.machine - before.machine) - server_cpu - pg_cpu - (after.own - before.own)
    return Measurement(
        scenario=scenario.key,
        rows=rows,
        mode=mode,
        round=round_index + 1,
        rate=result.rate,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        server_cpu_us=server_cpu / n * 1e6,
        pg_cpu_us=pg_cpu / n * 1e6,
        statements=0.0,
        rollbacks=0.0,
        errors=result.errors,
        non_2xx=result.non_2xx,
        background_cores=max(other, 0.0) / wall,
        steal_cores=(after.steal - before.steal) / wall,
    )


def make_sessions() -> list[database.Session]:
    sessions = []
    for number in range(SESSIONS):
        token = new_token()
        sessions.append(database.Session(token, hash_token(token), f"user-{number:04d}"))
    return sessions


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    versions = {}
    for name in (
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "asyncpg",
        "sqlalchemy",
        "tortoise-orm",
        "piccolo",
        "itsdangerous",
    ):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # not installed
            versions[name] = "-"
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores, {int(memory) // 1024**2} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


async def run(args: argparse.Namespace, argv: list[str]) -> Path:
    wrk = load.ensure_wrk()
    scenarios = [BY_KEY[key] for key in args.scenarios]
    if args.compare_with:
        scenarios += [s.with_pythonpath(args.compare_with) for s in scenarios if not s.baseline]
    started = datetime.now(timezone.utc)
    load_before = load.load_average()
    admin = await asyncpg.connect(args.server_dsn)
    db = await database.create_database(admin)
    try:
        pg_version = await admin.fetchval("SHOW server_version")
        bench = Bench(args, admin, db)
        sessions = make_sessions()
        now = datetime.now(timezone.utc)
        created_at, expires_at = now, now + timedelta(days=14)  # no sliding refresh: no writes
        for rows in args.sizes:
            print(f"loading {rows:,} rows into {db}.{table_name(rows)}", flush=True)
            await database.load_table(
                bench.dsn, table_name(rows), rows, sessions, created_at, expires_at
            )
        signer = CookieSigner(SECRET)
        cookies = [signer.sign(s.token) for s in sessions]
        with tempfile.TemporaryDirectory(prefix="anchor-bench-") as tmp:
            directory = Path(tmp)
            spec = {
                "created_at": created_at.isoformat(),
                "expires_at": expires_at.isoformat(),
                "sessions": [{"token": s.token, "user_id": s.user_id} for s in sessions],
                "filler": min(args.sizes) - len(sessions),
            }
            (directory / "sessions.json").write_text(json.dumps(spec))
            fixtures = {
                "dir": directory,
                "wrk": wrk,
                "scripts": load.write_scripts(directory, cookies[0], cookies),
                "valid": (cookies[0], sessions[0].user_id),
                "unknown": signer.sign(new_token()),
            }
            env = {
                "BENCH_DSN": bench.dsn,
                "BENCH_SECRET": SECRET,
                "BENCH_SESSIONS": str(directory / "sessions.json"),
                "BENCH_POOL_SIZE": str(args.pool_size),
            }
            chosen = [
                (rows, scenario)
                for rows in args.sizes
                for scenario in lineup(scenarios, rows, args.sizes[0])
            ]
            await bench.run_all(chosen, env, fixtures)
            print("counting statements per request", flush=True)
            for rows, scenario in chosen:
                if scenario.uses_table:
                    await bench.count_statements(rows, scenario, env, fixtures)
    finally:
        await database.drop_database(admin, db)
        await admin.close()
    finished = datetime.now(timezone.utc)
    context = {
        "command": command_line(args, argv),
        "started": started.isoformat(timespec="seconds"),
        "minutes": round((finished - started).total_seconds() / 60, 1),
        "load_before": load_before,
        "load_after": load.load_average(),
        "postgresql": pg_version,
        "pythonpath": os.environ.get("PYTHONPATH", ""),
        "quiet": args.quiet,
        "retries": args.retries,
        "settings": (
            f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s per slice, "
            f"{args.rounds} round(s) of one slice per scenario and cookie mode, after "
            f"{args.warmup}s of warm-up; pools of {args.pool_size} connections"
            + (
                "; paired: each scenario loaded right after its reference (A or B), and its "
                "ratios taken from those adjacent slices"
                if args.paired
                else ""
            )
        ),
        **machine(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y-%m-%dT%H%M}-{args.preset}{'-compare' if args.compare_with else ''}"
    results = bench.finish()
    text = report.markdown(results, context, scenarios, args.sizes)
    (args.out / f"{stem}.md").write_text(text)
    raw = {"context": context, "results": [asdict(m) for m in results]}
    (args.out / f"{stem}.json").write_text(json.dumps(raw, indent=1))
    print(text)
    return args.out / f"{stem}.md"


def command_line(args: argparse.Namespace, argv: list[str]) -> str:
    hatch = {"full": "hatch run bench:run", "quick": "hatch run bench:quick"}[args.preset]
    extra = [a for a in argv if a not in ("--preset", args.preset)]
    return " ".join([hatch, *extra])


def main() -> None:
    argv = sys.argv[1:]
    args = parse(argv)
    path = asyncio.run(run(args, argv))
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
