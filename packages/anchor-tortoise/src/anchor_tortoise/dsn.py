"""`credentials_from_dsn`: Tortoise's asyncpg credentials from a PostgreSQL connection URL.

Tortoise takes either a `db_url` string or a `credentials` mapping. Pool options such as
`reset=skip_reset` (see `fastapi_anchor.toolkit.skip_reset`) fit only in the mapping, so an
application configured by URL needs the URL split into it: this does so, percent-decoding the
user and password (which Tortoise's own URL parsing leaves encoded) and reading a unix-socket
directory from `?host=`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["credentials_from_dsn"]

_SCHEMES = ("postgres", "postgresql", "asyncpg")


def credentials_from_dsn(dsn: str, **options: Any) -> dict[str, Any]:
    """Return the `credentials` of a Tortoise asyncpg connection for `dsn`, plus `options`.

    Example: `credentials_from_dsn(os.environ["DATABASE_URL"], reset=skip_reset)`.

    Args:
        dsn: `postgresql://user:password@host:port/database` (also `postgres://`,
            `asyncpg://`); `?host=/run/postgresql` for a unix socket.
        options: Further credentials, such as `reset`, `minsize`, `maxsize` or `schema`.

    Raises:
        ValueError: `dsn` is not a PostgreSQL URL.
    """
    parts = urlsplit(dsn)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"not a PostgreSQL URL (postgresql://...): {dsn.split('@')[-1]!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "host": query.get("host") or parts.hostname or "127.0.0.1",
        "port": int(query.get("port") or parts.port or 5432),
        "user": unquote(parts.username or query.get("user") or "postgres"),
        "password": unquote(parts.password or query.get("password") or ""),
        "database": unquote(parts.path.lstrip("/")) or query.get("dbname", "postgres"),
        **options,
    }
