"""The benchmark's report on a small synthetic run: tables, targets and the SVG chart."""

from __future__ import annotations

import re
from dataclasses import asdict
from xml.etree import ElementTree

from bench import report
from bench.scenarios import SCENARIOS

RATES = {"A": 8000.0, "A-dep": 7000.0, "B": 4000.0, "B-dep": 3600.0, "memory": 6000.0}


def synthetic() -> list[report.Measurement]:
    found = []
    for scenario in SCENARIOS:
        sizes = (10_000, 1_000_000) if scenario.table and not scenario.extra else (10_000,)
        for rows in sizes:
            for mode in report.MODES:
                for number in (1, 2, 3):
                    rate = RATES.get(scenario.key, 3000.0) * (1 + number / 100)
                    statements = 1.0 if scenario.table else 0.0
                    cpu = 1e6 / rate
                    found.append(
                        report.Measurement(
                            scenario.key,
                            rows,
                            mode,
                            number,
                            rate,
                            5.0,
                            20.0,
                            cpu,
                            40.0,
                            statements,
                            0,
                            0,
                        )
                    )
    return found


def test_chart_has_one_labelled_bar_per_scenario() -> None:
    svg = report.chart(synthetic(), "GET /me")
    root = ElementTree.fromstring(svg)
    bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect") if e.get("x") == "300"]
    assert len(bars) == len(SCENARIOS)
    widths = {float(bar.get("width", 0)) for bar in bars}
    assert max(widths) == 420.0  # A, the fastest, spans the whole axis
    text = " ".join(e.text or "" for e in root.iter("{http://www.w3.org/2000/svg}text"))
    for scenario in SCENARIOS:
        assert scenario.label in text
    assert "4,080 · 1.00 x B" in text  # B's median rate, its own reference


def test_markdown_has_a_table_per_size_and_mode_and_the_targets() -> None:
    raw = [asdict(m) for m in synthetic()]
    context = {"started": "t", "command": "c", "minutes": 1, "settings": "s", "machine": "m"}
    text = report.markdown(report.load(raw), context)
    headings = re.findall(r"^## (.*)$", text, re.MULTILINE)
    assert headings == [
        "10,000 rows, one fixed cookie",
        "10,000 rows, rotating through 1,000 sessions",
        "1,000,000 rows, one fixed cookie",
        "1,000,000 rows, rotating through 1,000 sessions",
        "Targets",
    ]
    assert "| Anchor + MemoryStore >= 0.90 x A-dep | 0.86 **missed** | 0.86 **missed** |" in text
    assert "| Anchor + anchor-asyncpg >= 0.97 x B-dep | 0.83 **missed** |" in text
    assert "| B: hand-written minimum: 1,000,000 rows within 10% of 10,000 | 1.00 met |" in text


def test_inprocess_table_takes_the_20th_percentile() -> None:
    samples = {"B": [100.0 + n for n in range(10)], "asyncpg": [125.0 + n for n in range(10)]}
    lines = report.inprocess_table(samples)
    assert lines[0] == "| scenario | median µs | p20 µs | x B |"
    assert lines[3] == "| Anchor + anchor-asyncpg | 129.5 | 126.0 | 0.80 |"
