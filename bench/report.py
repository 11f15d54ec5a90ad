"""The Markdown report of a run: one table per table size and cookie mode, then the targets."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from bench.measurement import Measurement
from bench.scenarios import ADAPTERS, BY_KEY, Scenario

MODE_TITLES = {
    "fixed": "one fixed cookie",
    "rotating": "rotating through 1,000 sessions",
}

# (scenario, reference, lowest ratio): the targets of the issue, as ratios within one run.
TARGETS = (
    ("memory", "A", 0.85),
    ("asyncpg", "B", 0.95),
    ("sqlalchemy", "B", 0.80),
    ("tortoise", "B", 0.70),
    ("piccolo", "B", 0.70),
)
FLAT = 0.10  # 1M rows vs 10k rows: within 10%


def _median(values: Iterable[float]) -> float:
    found = list(values)
    return statistics.median(found) if found else float("nan")


# Each reference written as a FastAPI dependency, as every dependency-based check must be.
DEPENDENCY_FORM = {"A": "A-dep", "B": "B-dep"}


class Figures:
    """The measurements of a run, indexed by (rows, mode, scenario) and round."""

    def __init__(self, results: list[Measurement], sizes: list[int]) -> None:
        self.sizes = sizes
        self.by: dict[tuple[int, str, str], dict[int, Measurement]] = defaultdict(dict)
        self.all: dict[tuple[int, str, str], list[Measurement]] = defaultdict(list)
        for row in results:
            # A paired run loads a reference several times a round: the tables show the first.
            self.by[row.rows, row.mode, row.scenario].setdefault(row.round, row)
            self.all[row.rows, row.mode, row.scenario].append(row)
        self.in_order = {row.order: row for row in results if row.order >= 0}

    def rows(self, rows: int, mode: str, scenario: str) -> dict[int, Measurement]:
        return self.by.get((rows, mode, scenario), {})

    def ratio(self, rows: int, mode: str, scenario: str, reference: str) -> float:
        """Median over rounds of scenario/reference req/s, both from the same round.

        A scenario that does not read the table (the ceiling) runs at the first size only;
        its figures serve as reference for the other sizes too.
        """
        if self.in_order:
            linked = self._linked(rows, mode, scenario, reference, lambda m, r: m.rate / r.rate)
            if linked is not None:
                return linked
        mine = self.rows(rows, mode, scenario)
        theirs = self.rows(rows, mode, reference) or self.rows(self.sizes[0], mode, reference)
        return _median(
            mine[r].rate / theirs[r].rate for r in mine if r in theirs and theirs[r].rate
        )

    def cpu_ratio(self, rows: int, mode: str, scenario: str, reference: str) -> float:
        """Median over rounds of reference/scenario server CPU per request, same round.

        What the req/s ratio would be if the server process were the only bottleneck: a steadier
        figure than req/s on a machine where other work comes and goes.
        """
        if self.in_order:
            linked = self._linked(
                rows, mode, scenario, reference, lambda m, r: r.server_cpu_us / m.server_cpu_us
            )
            if linked is not None:
                return linked
        mine = self.rows(rows, mode, scenario)
        theirs = self.rows(rows, mode, reference) or self.rows(self.sizes[0], mode, reference)
        return _median(
            theirs[r].server_cpu_us / mine[r].server_cpu_us
            for r in mine
            if r in theirs and mine[r].server_cpu_us
        )

    def _paired(
        self, rows: int, mode: str, scenario: str, reference: str
    ) -> list[tuple[Measurement, Measurement]]:
        """(scenario slice, the reference slice loaded right before it), in a paired run."""
        pairs = []
        for mine in self.all.get((rows, mode, scenario), []):
            before = self.in_order.get(mine.order - 1)
            if before is not None and before.scenario == reference and before.mode == mode:
                pairs.append((mine, before))
        return pairs

    def _linked(
        self,
        rows: int,
        mode: str,
        scenario: str,
        reference: str,
        value: Callable[[Measurement, Measurement], float],
    ) -> float | None:
        """A paired run's ratio: from adjacent slices where the two were paired, else through
        the reference both were paired with (B-dep and asyncpg, both after B), else through the
        scenario's own reference (asyncpg after B, B after A); None if they are not linked."""
        if scenario == reference:
            return 1.0
        direct = self._linked_direct(rows, mode, scenario, reference, value)
        if direct is not None:
            return direct
        for common in ("B", "A"):
            if common in (scenario, reference):
                continue
            mine = self._linked_direct(rows, mode, scenario, common, value)
            theirs = self._linked_direct(rows, mode, reference, common, value)
            if mine is not None and theirs is not None and theirs:
                return mine / theirs
        for hop in ("B", "A"):
            first = self._linked_direct(rows, mode, scenario, hop, value)
            if first is None or hop == reference:
                continue
            second = self._linked_direct(rows, mode, hop, reference, value)
            if second is None:
                second = self._linked_direct(self.sizes[0], mode, hop, reference, value)
            if second is not None:
                return first * second
        return None

    def _linked_direct(
        self,
        rows: int,
        mode: str,
        scenario: str,
        reference: str,
        value: Callable[[Measurement, Measurement], float],
    ) -> float | None:
        """Median of `value` over the pairs of adjacent slices; the first table size stands
        in for a scenario that reads no table (the ceiling)."""
        pairs = self._paired(rows, mode, scenario, reference)
        if not pairs and rows != self.sizes[0] and not self.all.get((rows, mode, scenario)):
            pairs = self._paired(self.sizes[0], mode, scenario, reference)
        return _median(value(mine, theirs) for mine, theirs in pairs) if pairs else None

    def flatness(self, mode: str, scenario: str) -> float:
        """Median over rounds of req/s at the largest table / req/s at the smallest."""
        small = self.rows(self.sizes[0], mode, scenario)
        large = self.rows(self.sizes[-1], mode, scenario)
        return _median(large[r].rate / small[r].rate for r in large if r in small)


def _table(figures: Figures, rows: int, mode: str, scenarios: list[Scenario]) -> list[str]:
    rounds = sorted(
        {r for key, found in figures.by.items() if key[:2] == (rows, mode) for r in found}
    )
    head = (
        "| scenario | "
        + " | ".join(f"req/s r{r}" for r in rounds)
        + " | median req/s | p50 ms | p99 ms | x A | x B | server CPU µs/req"
        + " | PostgreSQL CPU µs/req | statements/req | other CPU, cores |"
    )
    lines = [head, "|---|" + "---:|" * (len(rounds) + 9)]
    for scenario in scenarios:
        found = figures.rows(rows, mode, scenario.key)
        if not found:
            continue
        values = list(found.values())
        flags = ""
        if any(v.errors or v.non_2xx for v in values):
            bad = sum(v.errors + v.non_2xx for v in values)
            flags = f" (**{bad} errors or non-2xx**)"
        cells = [f"{found[r].rate:,.0f}" if r in found else "-" for r in rounds]
        cells += [
            f"{_median(v.rate for v in values):,.0f}",
            f"{_median(v.p50_ms for v in values):.2f}",
            f"{_median(v.p99_ms for v in values):.2f}",
            f"{figures.ratio(rows, mode, scenario.key, 'A'):.2f}",
            f"{figures.ratio(rows, mode, scenario.key, 'B'):.2f}",
            f"{_median(v.server_cpu_us for v in values):.0f}",
        ]
        if scenario.uses_table:
            cells += [
                f"{_median(v.pg_cpu_us for v in values):.0f}",
                f"{_median(v.statements for v in values):.2f}",
            ]
        else:
            cells += ["-", "-"]
        cells.append(f"{_median(v.background_cores for v in values):.2f}")
        lines.append(f"| {scenario.label}{flags} | " + " | ".join(cells) + " |")
    return lines


def _targets(figures: Figures, scenarios: list[Scenario]) -> list[str]:
    keys = {s.key for s in scenarios}
    lines = [
        "| target | " + " | ".join(MODE_TITLES[m] for m in MODE_TITLES) + " |",
        "|---|" + "---|" * len(MODE_TITLES),
    ]
    first = figures.sizes[0]
    for scenario, reference, lowest in TARGETS:
        if scenario not in keys or reference not in keys:
            continue
        cells = []
        for mode in MODE_TITLES:
            value = figures.ratio(first, mode, scenario, reference)
            cell = f"{value:.2f} {'met' if value >= lowest else '**missed**'}"
            cell += f"; CPU {figures.cpu_ratio(first, mode, scenario, reference):.2f}"
            dep = DEPENDENCY_FORM[reference]
            if dep in keys:  # against the reference written as a dependency too
                cell += (
                    f"; x {dep} {figures.ratio(first, mode, scenario, dep):.2f}, "
                    f"CPU {figures.cpu_ratio(first, mode, scenario, dep):.2f}"
                )
            cells.append(cell)
        label = BY_KEY[scenario].label.removeprefix("Anchor + ")
        lines.append(f"| {label} >= {lowest:.2f}x {reference} | " + " | ".join(cells) + " |")
    if len(figures.sizes) > 1:
        for scenario in ("B", *ADAPTERS):
            if scenario not in keys:
                continue
            cells = []
            for mode in MODE_TITLES:
                value = figures.flatness(mode, scenario)
                ok = abs(value - 1) <= FLAT
                cells.append(f"{value:.2f} {'met' if ok else '**missed**'}")
            label = BY_KEY[scenario].label.removeprefix("Anchor + ")
            lines.append(
                f"| {label}: {figures.sizes[-1]:,} rows vs {first:,}, within 10% | "
                + " | ".join(cells)
                + " |"
            )
    return lines


def markdown(
    results: list[Measurement], context: dict[str, Any], scenarios: list[Scenario], sizes: list[int]
) -> str:
    figures = Figures(results, sizes)
    other = [r.background_cores for r in results]
    steal = [r.steal_cores for r in results]
    out = [
        f"# FastAPI Anchor benchmark, {context['started']} UTC",
        "",
        f"Command: `{context['command']}` ({context['minutes']} min)",
        "",
        f"- Machine: {context['cpu']}; {context['os']}; Python {context['python']}; "
        f"PostgreSQL {context['postgresql']} on the same machine",
        f"- Load average (1, 5, 15 min) before: {context['load_before']}; "
        f"after: {context['load_after']}",
        f"- {context['settings']}; uvicorn, one process, `--loop uvloop --http httptools`",
        f"- Other work on the machine during the windows (CPU time used by neither the server, "
        f"the PostgreSQL backends, wrk nor the harness): median {_median(other):.2f} cores, "
        f"most {max(other, default=0):.2f}; CPU stolen by the hypervisor: median "
        f"{_median(steal):.2f} cores. A slice during which other work used more than "
        f"{context['quiet']} cores is run again (at most {context['retries']} times, within a "
        "budget for the run), keeping the quietest attempt.",
        f"- {context['versions']}",
        *(
            [f"- PYTHONPATH={context['pythonpath']} (code other than the tree's)"]
            if context.get("pythonpath")
            else []
        ),
        "- Every asyncpg pool (B, anchor-asyncpg, and those under Tortoise and Piccolo) uses the "
        'no-op reset `fastapi_anchor.store.skip_reset`, except "B, asyncpg\'s default reset". '
        "SQLAlchemy's pool has no reset query.",
        "- `GET /me` returns the user id of the session. req/s r1, r2, ...: one slice of "
        "each round (every server runs all along; one is loaded at a time). x A and x B: "
        + (
            "medians of the ratios of req/s of each slice to the reference's slice loaded "
            "right before it (paired run; through B or A where the two were not paired "
            "directly; a reference loaded several times a round shows its first slice). "
            if figures.in_order
            else "medians of the per-round ratios of req/s (the ceiling serves no table: its "
            "figures stand for every size). "
        )
        + "Server CPU: the uvicorn process's user + system time over the "
        "slice (/proc), per request. PostgreSQL CPU: the same for the backends of the "
        "benchmark's database. Statements: transactions committed and rolled back in that "
        "database (`pg_stat_database`) per request that reached the store, counted in a "
        "separate short run of each server alone; every statement outside a transaction block "
        "is one, and so is a multi-statement reset query. Other CPU: CPU time of the machine "
        "used by anything else during the slice, in cores.",
        "",
    ]
    for rows in sizes:
        for mode, title in MODE_TITLES.items():
            if not any(k[:2] == (rows, mode) for k in figures.by):
                continue
            out += [f"## {rows:,} rows, {title}", "", *_table(figures, rows, mode, scenarios), ""]
    out += [
        "## Targets",
        "",
        "Ratios of req/s within the run (medians of "
        + ("ratios of adjacent slices" if figures.in_order else "per-round ratios")
        + "), then the same ratio of "
        "server CPU per request (`CPU`), which is what the req/s ratio would be if the server "
        "process were the only bottleneck.",
        "",
        *_targets(figures, scenarios),
        "",
    ]
    return "\n".join(out)
