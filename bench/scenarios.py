"""The scenarios the benchmark serves side by side, each an app under `bench.apps`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """One app to load."""

    key: str  # on the command line and in the raw results
    label: str  # in the tables and the chart
    target: str  # the app, `module:attribute` under `bench.apps`
    table: bool = True  # reads the PostgreSQL table, so it runs at every table size
    checks: bool = True  # missing, tampered and unknown cookies must get 401
    extra: bool = False  # for the docs: at the first table size only


SCENARIOS = (
    Scenario("A", "A: no authentication", "ceiling:app", False, False),
    Scenario("A-dep", "A-dep: a dependency reads the cookie", "ceiling:dependency", False, False),
    Scenario("B", "B: hand-written minimum", "minimum:inline"),
    Scenario("B-dep", "B-dep: B as a dependency", "minimum:dependency"),
    Scenario("B-reset", "B with asyncpg's default reset", "minimum:inline_reset", extra=True),
    Scenario("memory", "Anchor + MemoryStore", "memory:app", table=False),
    Scenario("asyncpg", "Anchor + anchor-asyncpg", "adapter_asyncpg:app"),
    Scenario("asyncpg-cached", "Anchor + anchor-asyncpg, cached", "adapter_asyncpg:cached"),
    Scenario("sqlalchemy", "Anchor + anchor-sqlalchemy", "adapter_sqlalchemy:app"),
    Scenario(
        "sqlalchemy-cached", "Anchor + anchor-sqlalchemy, cached", "adapter_sqlalchemy:cached"
    ),
    Scenario("tortoise", "Anchor + anchor-tortoise", "adapter_tortoise:app"),
    Scenario("piccolo", "Anchor + anchor-piccolo", "adapter_piccolo:app"),
)  # fmt: skip
BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}
