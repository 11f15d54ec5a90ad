"""What every scenario app reads from the environment the harness (`bench.run`) sets.

- `BENCH_DSN`: the benchmark's own database (created and dropped by the harness);
- `BENCH_TABLE`: the sessions table to read (one per table size);
- `BENCH_SECRET`: the key that signed the cookies;
- `BENCH_SESSIONS`: a JSON file of the sessions (tokens, users, times) for the memory store;
- `BENCH_POOL_SIZE`: connections per app (every pool is this size, min = max).
"""

from __future__ import annotations

import os

DSN = os.environ.get("BENCH_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLE = os.environ.get("BENCH_TABLE", "anchor_sessions")
SECRET = os.environ.get("BENCH_SECRET", "bench-secret-key-of-at-least-32-characters")
SESSIONS = os.environ.get("BENCH_SESSIONS", "")
POOL_SIZE = int(os.environ.get("BENCH_POOL_SIZE", "10"))

COOKIE = "session"  # fastapi_anchor's default cookie name
SALT = "fastapi-anchor.session"  # the salt fastapi_anchor signs session cookies with


def sqlalchemy_url(dsn: str = DSN) -> str:
    """The SQLAlchemy URL (asyncpg driver) of a `postgresql://` DSN."""
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]
