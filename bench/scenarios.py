"""The scenarios the benchmark serves side by side, each an app module under `bench.apps`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Scenario:
    """One app to load.

    Attributes:
        key: Short name used on the command line and in the results.
        label: Name in the results table.
        target: The app for uvicorn, `module:attribute`.
        authenticates: False only for the ceilings, which have no session check to verify.
        uses_table: Reads the PostgreSQL table, so it also runs against the 1M-row table.
        extra: A variant for the docs (not part of the targets); run at 10k rows only.
        baseline: Written in the benchmark, not FastAPI Anchor (A, B and their variants).
        env: Environment variables of its server on top of the run's.
    """

    key: str
    label: str
    target: str
    authenticates: bool = True
    uses_table: bool = True
    extra: bool = False
    baseline: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def with_pythonpath(self, path: str) -> Scenario:
        """The same app served with `path` first on `PYTHONPATH` (changed code to compare)."""
        return replace(
            self,
            key=f"{self.key}*",
            label=f"{self.label}, with {path}",
            extra=True,
            env={**self.env, "PYTHONPATH": path},
        )


SCENARIOS = (
    Scenario("A", "A: no auth (ceiling)", "bench.apps.ceiling:app", False, False, baseline=True),
    Scenario(
        "A-dep",
        "A, with a dependency reading the cookie",
        "bench.apps.ceiling:with_dependency",
        False,
        False,
        extra=True,
        baseline=True,
    ),
    Scenario("B", "B: hand-written minimum", "bench.apps.minimum:inline", baseline=True),
    Scenario(
        "B-dep",
        "B, as a FastAPI dependency",
        "bench.apps.minimum:dependency",
        extra=True,
        baseline=True,
    ),
    Scenario(
        "B-reset",
        "B, asyncpg's default reset",
        "bench.apps.minimum:inline_reset",
        extra=True,
        baseline=True,
    ),
    Scenario("memory", "Anchor + MemoryStore", "bench.apps.memory:app", uses_table=False),
    Scenario("asyncpg", "Anchor + anchor-asyncpg", "bench.apps.adapter_asyncpg:app"),
    Scenario(
        "raw-store",
        "Anchor on a bare fetchrow store",
        "bench.apps.breakdown:raw_store",
        extra=True,
    ),
    Scenario(
        "no-deadline",
        "Anchor + anchor-asyncpg, timeout=None",
        "bench.apps.breakdown:no_deadline",
        extra=True,
    ),
    Scenario("sqlalchemy", "Anchor + anchor-sqlalchemy", "bench.apps.adapter_sqlalchemy:app"),
    Scenario("tortoise", "Anchor + anchor-tortoise", "bench.apps.adapter_tortoise:app"),
    Scenario("piccolo", "Anchor + anchor-piccolo", "bench.apps.adapter_piccolo:app"),
)

BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}
ADAPTERS = ("asyncpg", "sqlalchemy", "tortoise", "piccolo")
