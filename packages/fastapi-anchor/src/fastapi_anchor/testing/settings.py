"""The Hypothesis settings of the suite's generated tests."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

__all__ = ["suite_settings"]

suite_settings = settings(
    # Few examples and no deadline: database stores run these too, in a few seconds each.
    max_examples=30,
    deadline=None,
    # The same examples on every run: an adapter's CI fails for a reason, not by chance.
    derandomize=True,
    database=None,
    # Shrink to a small failing case, but skip the costly "explain" phase and stop at the
    # first bug: against a database every replay costs round trips.
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    report_multiple_bugs=False,
    suppress_health_check=[
        # One store (the function-scoped fixture) serves every example; each example uses
        # fresh ids and users, and the state machine cleans up after itself.
        HealthCheck.function_scoped_fixture,
        # Each store's subclass runs the same inherited test method.
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)
"""Applied to every `@given` test of the suite."""
