"""The report of a run: Markdown tables, the targets and the SVG chart of the served figures.

`python -m bench.report RESULTS.json [--svg PATH]`: a saved served run's tables, and its chart.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from html import escape
from pathlib import Path
from typing import Any

from bench.scenarios import BY_KEY, SCENARIOS

COOKIES = int(os.environ.get("BENCH_COOKIES", "1000"))  # as the run that made the results
MODES = {"fixed": "one fixed cookie", "rotating": f"rotating through {COOKIES:,} sessions"}
# (scenario, reference, lowest ratio of req/s) in the same run: the project's targets.
TARGETS = (
    ("memory", "A-dep", 0.90),
    ("asyncpg", "B-dep", 0.97),
    ("sqlalchemy", "B-dep", 0.90),
    ("tortoise", "B-dep", 0.90),
    ("piccolo", "B-dep", 0.90),
)
REFERENCES = ("A", "A-dep", "B", "B-dep")


@dataclass(frozen=True)
class Measurement:
    """One slice of load on one scenario: what the raw results hold."""

    scenario: str
    rows: int
    mode: str
    round: int
    rate: float  # req/s
    p50_ms: float
    p99_ms: float
    server_cpu_us: float  # the uvicorn process's CPU time per request
    pg_cpu_us: float  # the PostgreSQL backends' CPU time per request
    statements: float  # transactions per request that reached the store
    errors: int
    non_2xx: int


def load(raw: list[dict[str, Any]]) -> list[Measurement]:
    """Measurements from their JSON form (other fields, of older runs, are ignored)."""
    names = {f.name for f in fields(Measurement)}
    return [Measurement(**{k: v for k, v in row.items() if k in names}) for row in raw]


def median(values: Iterable[float]) -> float:
    found = list(values)
    return statistics.median(found) if found else float("nan")


def cost(samples: list[float]) -> float:
    """The 20th percentile of in-process samples: the cost at the machine's full speed.

    A virtual machine's host slows it down for spells; of many short samples, the low ones ran
    at full speed.
    """
    return sorted(samples)[(len(samples) - 1) // 5]


class Figures:
    """The measurements of a served run by (rows, mode, scenario), then by round."""

    def __init__(self, results: list[Measurement]) -> None:
        self.sizes = sorted({m.rows for m in results})
        self.by: dict[tuple[int, str, str], dict[int, list[Measurement]]] = defaultdict(dict)
        for m in results:
            self.by[m.rows, m.mode, m.scenario].setdefault(m.round, []).append(m)

    def slices(self, rows: int, mode: str, key: str) -> list[Measurement]:
        return [m for found in self.by.get((rows, mode, key), {}).values() for m in found]

    def rate(self, rows: int, mode: str, key: str) -> float:
        return median(m.rate for m in self.slices(rows, mode, key))

    def ratio(self, rows: int, mode: str, key: str, reference: str) -> float:
        """Median over rounds of req/s against the reference's in the same round (what reads no
        table runs at the first size only and stands for every size)."""
        mine = self.by.get((rows, mode, key), {})
        first = self.by.get((self.sizes[0], mode, reference), {})
        theirs = self.by.get((rows, mode, reference)) or first
        return median(
            median(m.rate for m in mine[r]) / median(m.rate for m in theirs[r])
            for r in mine
            if r in theirs
        )


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def served_table(figures: Figures, rows: int, mode: str) -> list[str]:
    head = ["scenario", "req/s", "p50 ms", "p99 ms", "x A", "x B", "x B-dep"]
    head += ["server CPU µs/req", "PostgreSQL CPU µs/req", "statements/req"]
    lines = [_row(head), "|---|" + "---:|" * (len(head) - 1)]
    for scenario in SCENARIOS:
        found = figures.slices(rows, mode, scenario.key)
        if not found:
            continue
        bad = sum(m.errors + m.non_2xx for m in found)
        label = scenario.label + (f" (**{bad} errors or non-2xx**)" if bad else "")
        cells = [label, f"{median(m.rate for m in found):,.0f}"]
        cells += [f"{median(getattr(m, k) for m in found):.2f}" for k in ("p50_ms", "p99_ms")]
        cells += [f"{figures.ratio(rows, mode, scenario.key, r):.2f}" for r in ("A", "B", "B-dep")]
        cells.append(f"{median(m.server_cpu_us for m in found):.0f}")
        pg, statements = (median(m.pg_cpu_us for m in found), median(m.statements for m in found))
        cells += [f"{pg:.0f}", f"{statements:.2f}"] if scenario.table else ["", ""]
        lines.append(_row(cells).replace("nan", ""))
    return lines


def targets_table(figures: Figures) -> list[str]:
    lines = [_row(["target", *MODES.values()]), "|---|" + "---|" * len(MODES)]
    first, last = figures.sizes[0], figures.sizes[-1]
    for key, reference, lowest in TARGETS:
        values = [figures.ratio(first, mode, key, reference) for mode in MODES]
        if all(v != v for v in values):  # nan: not in the run
            continue
        cells = [f"{v:.2f} {'met' if v >= lowest else '**missed**'}" for v in values]
        lines.append(_row([f"{BY_KEY[key].label} >= {lowest:.2f} x {reference}", *cells]))
    for key in ("B", "asyncpg", "sqlalchemy", "tortoise", "piccolo") if last != first else ():
        values = [figures.rate(last, mode, key) / figures.rate(first, mode, key) for mode in MODES]
        cells = [f"{v:.2f} {'met' if abs(v - 1) <= 0.10 else '**missed**'}" for v in values]
        target = f"{BY_KEY[key].label}: {last:,} rows within 10% of {first:,}"
        lines.append(_row([target, *cells]).replace("nan **missed**", ""))
    return lines


def inprocess_table(samples: dict[str, list[float]]) -> list[str]:
    """CPU µs per request of each app called in-process, and the ratios to the references."""
    refs = [r for r in REFERENCES if r in samples]
    head = ["scenario", "median µs", "p20 µs", *(f"x {r}" for r in refs)]
    lines = [_row(head), "|---|" + "---:|" * (len(head) - 1)]
    for key, found in samples.items():
        cells = [BY_KEY[key].label, f"{median(found):.1f}", f"{cost(found):.1f}"]
        cells += [f"{cost(samples[r]) / cost(found):.2f}" for r in refs]
        lines.append(_row(cells))
    return lines


def markdown(results: list[Measurement], context: dict[str, Any]) -> str:
    """The whole report of a served run."""
    figures = Figures(results)
    out = [
        f"# FastAPI Anchor benchmark, {context['started']} UTC",
        "",
        f"`{context['command']}` ({context['minutes']} min). {context['settings']}.",
        f"Machine: {context.get('machine', context.get('cpu'))}.",
        "",
        "Medians over the rounds; x A, x B and x B-dep are medians of per-round ratios of req/s.",
        "",
    ]
    for rows in figures.sizes:
        for mode, title in MODES.items():
            if any(k[:2] == (rows, mode) for k in figures.by):
                out += [f"## {rows:,} rows, {title}", "", *served_table(figures, rows, mode), ""]
    return "\n".join([*out, "## Targets", "", *targets_table(figures), ""])


def chart(results: list[Measurement], title: str, mode: str = "rotating") -> str:
    """A horizontal bar chart (SVG) of req/s per scenario, each labelled with its ratio to B."""
    figures = Figures(results)
    rows = figures.sizes[0]
    bars = [
        (s, figures.rate(rows, mode, s.key), figures.ratio(rows, mode, s.key, "B"))
        for s in SCENARIOS
        if figures.slices(rows, mode, s.key)
    ]
    top, left, width, pitch = max(rate for _, rate, _ in bars), 300, 420, 32
    total = 70 + pitch * len(bars) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 160}" '
        f'height="{total}" font-family="sans-serif" font-size="14">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="16" y="28" font-size="17" font-weight="bold">{escape(title)}</text>',
        f'<text x="16" y="50" fill="#555555">req/s, {rows:,} stored sessions, {MODES[mode]};'
        " higher is better; x B: ratio to the hand-written minimum</text>",
    ]
    for index, (scenario, rate, ratio) in enumerate(bars):
        y = 70 + index * pitch
        length = rate / top * width
        color = "#00897b" if scenario.label.startswith("Anchor") else "#9e9e9e"
        label = f"{rate:,.0f}" + ("" if ratio != ratio else f" · {ratio:.2f} x B")
        out += [
            f'<text x="{left - 10}" y="{y + 16}" text-anchor="end">{escape(scenario.label)}</text>',
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="22" fill="{color}"/>',
            f'<text x="{left + length + 8:.1f}" y="{y + 16}">{label}</text>',
        ]
    note = "grey: the baselines, written without FastAPI Anchor; green: FastAPI Anchor"
    out += [f'<text x="16" y="{total - 12}" fill="#555555">{note}</text>', "</svg>", ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("results", type=Path, help="a run's raw results (bench/results/*.json)")
    parser.add_argument("--svg", type=Path, help="write the chart there")
    args = parser.parse_args()
    raw = json.loads(args.results.read_text())
    context, results = raw["context"], load(raw["results"])
    print(markdown(results, context))
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(
            chart(results, f"GET /me, run of {context['started'][:16].replace('T', ' ')} UTC")
        )


if __name__ == "__main__":
    main()
