"""The adapter toolkit: what every store author reuses instead of writing it again.

The contract a store implements is `fastapi_anchor.store`; this module is the rest an
adapter needs, each name defined in the module its `__module__` gives:

- the shared PostgreSQL table: `create_table_sql`, `upgrade_table_sql` (schema 1 to 2),
  `notify_trigger_sql`, `notify_trigger_names` and `notify_channel` (the change feed),
  `NEW_COLUMNS`, `LOCK_TABLE_SQL` (serialises workers creating the table at once), `quote_table`,
  `index_name`, `DEFAULT_TABLE_NAME`, the JSON encoding of `data` (`dump_data`, `load_data`),
  and `update_values` (the checked fields of an `update` call, in `UPDATABLE` order);
- failures: `store_error` turns a driver's error into the store error its SQLSTATE means
  (`classify`, `find_sqlstate`, `connection_lost` for the parts);
- time: `DEFAULT_TIMEOUT`, the limit of every store call (`timeout=` on every adapter),
  kept by `call_limit` / `Deadlines`; `ensure_utc`, `check_expiry_args`, `utc_now`;
- `skip_reset`, the no-op asyncpg pool reset.

Nothing here imports a database driver at import time.
"""

from __future__ import annotations

from fastapi_anchor.clock import check_expiry_args, ensure_utc, utc_now
from fastapi_anchor.deadlines import Deadlines, call_limit
from fastapi_anchor.failures import (
    Failure,
    classify,
    classify_sqlstate,
    connection_lost,
    describe,
    find_sqlstate,
    store_error,
)
from fastapi_anchor.schema import (
    DEFAULT_TABLE_NAME,
    LOCK_TABLE_SQL,
    NEW_COLUMNS,
    UPDATABLE,
    create_table_sql,
    dump_data,
    index_name,
    load_data,
    notify_channel,
    notify_trigger_names,
    notify_trigger_sql,
    quote_table,
    update_values,
    upgrade_table_sql,
)

__all__ = [
    "DEFAULT_TABLE_NAME",
    "DEFAULT_TIMEOUT",
    "LOCK_TABLE_SQL",
    "NEW_COLUMNS",
    "UPDATABLE",
    "Deadlines",
    "Failure",
    "call_limit",
    "check_expiry_args",
    "check_timeout",
    "classify",
    "classify_sqlstate",
    "connection_lost",
    "create_table_sql",
    "describe",
    "dump_data",
    "ensure_utc",
    "find_sqlstate",
    "index_name",
    "load_data",
    "notify_channel",
    "notify_trigger_names",
    "notify_trigger_sql",
    "quote_table",
    "skip_reset",
    "store_error",
    "update_values",
    "upgrade_table_sql",
    "utc_now",
]

DEFAULT_TIMEOUT = 5.0
"""Seconds any store call may take, waiting for a pooled connection included (every adapter)."""


def check_timeout(timeout: float) -> float:
    """Return `timeout` if it is a positive number of seconds (an adapter's `timeout=`).

    Raises:
        ValueError: `timeout` is not positive (None included: every call has a limit).
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


async def skip_reset(connection: object) -> None:
    """A no-op pool `reset` for asyncpg pools (raw, or under Tortoise or Piccolo).

    By default an asyncpg pool sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL;` every time a connection goes back to the pool: a second round trip after every
    session lookup. An application that leaves no session state on pooled connections (no
    `SET`, `LISTEN`, advisory locks, temporary tables or cursors held past a release) has
    nothing to reset: pass this as `reset=`. asyncpg (0.30+) still rolls back a transaction
    left open and drops listeners before calling it.
    """
