"""`Measurement`: what the harness records for one slice of load on one scenario."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    scenario: str
    rows: int
    mode: str
    round: int
    rate: float
    p50_ms: float
    p99_ms: float
    server_cpu_us: float
    pg_cpu_us: float
    statements: float
    rollbacks: float
    errors: int
    non_2xx: int
    background_cores: float  # CPU used by other work on the machine during the window
    steal_cores: float
    order: int = -1  # the slice's place in the run (paired runs); -1 in older results
