"""What every scenario app reads from the environment the runner (`bench.run`) sets."""

from __future__ import annotations

import os

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLE = os.environ.get("BENCH_TABLE", "anchor_sessions")  # one table per size
SECRET = os.environ.get("BENCH_SECRET", "bench-secret-key-of-at-least-32-characters")
SESSIONS = os.environ.get("BENCH_SESSIONS", "")  # JSON: the sessions, for the memory store
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "4"))  # every pool: min = max = this
POOL = {"min_size": POOL_SIZE, "max_size": POOL_SIZE}
SALT = "fastapi-anchor.session"  # the salt FastAPI Anchor signs session cookies with
