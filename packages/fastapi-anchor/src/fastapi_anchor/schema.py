"""The shared PostgreSQL table every adapter reads and writes, and how data is encoded in it.

One table for all adapters means an application can switch ORM without migrating sessions.
Column names, types, nullability, defaults, indexed columns and the change-notification
trigger must match `create_table_sql` (schema 2); `upgrade_table_sql` brings a schema 1 table
(the first five columns) there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fastapi_anchor.clock import ensure_utc

__all__ = [
    "DEFAULT_TABLE_NAME",
    "LOCK_TABLE_SQL",
    "NEW_COLUMNS",
    "UPDATABLE",
    "create_table_sql",
    "dump_data",
    "index_name",
    "load_data",
    "notify_channel",
    "notify_trigger_names",
    "notify_trigger_sql",
    "quote_table",
    "update_values",
    "upgrade_table_sql",
]

DEFAULT_TABLE_NAME = "anchor_sessions"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _checked(kind: str, name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(
            f"{kind} name must be a plain identifier (letters, digits, _; up to 63), got {name!r}"
        )
    return name


def quote_table(table: str = DEFAULT_TABLE_NAME, schema: str | None = None) -> str:
    """Return the quoted, validated SQL name of the table, like `"auth"."anchor_sessions"`."""
    quoted = f'"{_checked("table", table)}"'
    return f'"{_checked("schema", schema)}".{quoted}' if schema else quoted


def index_name(table: str, column: str) -> str:
    """Return the name of the index on `column`, like `anchor_sessions_user_id_idx`."""
    return f"{table}_{column}_idx"


NEW_COLUMNS = (
    ("authenticated_at", "timestamptz"),
    ("last_seen_at", "timestamptz"),
    ("ip_address", "varchar(45)"),
    ("user_agent", "varchar(512)"),
    ("persistent", "boolean NOT NULL DEFAULT true"),
)
"""The columns schema 2 adds, with their SQL types: all nullable or defaulted, so adding them
to a table in use rewrites no row and an older writer's INSERT still succeeds."""

LOCK_TABLE_SQL = "SELECT pg_advisory_xact_lock(hashtext($1))"
"""Run first in the transaction that creates or upgrades the table, with `$1` the table's
`quote_table` name: two workers starting at once can both pass IF NOT EXISTS and then collide
in the catalog, and this transaction-scoped lock, the same key in every adapter, serialises
them."""

_NOTIFIED_COLUMNS = "id, user_id, data, expires_at, authenticated_at, persistent"


def notify_channel(table: str = DEFAULT_TABLE_NAME) -> str:
    """Return the channel on which PostgreSQL announces changed or ended sessions of `table`.

    Each notification's payload is the session id. A change of `last_seen_at` alone is not
    announced; every other UPDATE and every DELETE is, when its transaction commits.
    """
    return _checked("table", table)


def create_table_sql(table: str = DEFAULT_TABLE_NAME, schema: str | None = None) -> list[str]:
    """Return the idempotent statements that create the shared table, its indexes and trigger."""
    name = quote_table(table, schema)
    return [
        f"CREATE TABLE IF NOT EXISTS {name} (\n"
        "    id               varchar(64)  PRIMARY KEY,\n"
        "    user_id          varchar(255) NOT NULL,\n"
        "    data             jsonb        NOT NULL DEFAULT '{}',\n"
        "    created_at       timestamptz  NOT NULL,\n"
        "    expires_at       timestamptz  NOT NULL,\n"
        "    authenticated_at timestamptz,\n"
        "    last_seen_at     timestamptz,\n"
        "    ip_address       varchar(45),\n"
        "    user_agent       varchar(512),\n"
        "    persistent       boolean      NOT NULL DEFAULT true\n"
        ")",
        f'CREATE INDEX IF NOT EXISTS "{index_name(table, "user_id")}" ON {name} (user_id)',
        f'CREATE INDEX IF NOT EXISTS "{index_name(table, "expires_at")}" ON {name} (expires_at)',
        *notify_trigger_sql(table, schema),
    ]


def upgrade_table_sql(table: str = DEFAULT_TABLE_NAME, schema: str | None = None) -> list[str]:
    """Return the idempotent statements that bring a schema 1 table to schema 2.

    They add the new columns (no row is rewritten: each is nullable or has a constant
    default) and the change-notification trigger. Run them in one transaction: sessions
    stay valid throughout, and rows written by older code read `authenticated_at` and
    `last_seen_at` as `created_at`.
    """
    name = quote_table(table, schema)
    added = ",\n".join(f"    ADD COLUMN IF NOT EXISTS {col} {kind}" for col, kind in NEW_COLUMNS)
    return [f"ALTER TABLE {name}\n{added}", *notify_trigger_sql(table, schema)]


def notify_trigger_names(table: str = DEFAULT_TABLE_NAME) -> tuple[str, str]:
    """Return the names of the two change-notification triggers on `table` (ended, changed)."""
    _checked("table", table)
    return f"{table}_ended", f"{table}_changed"


def notify_trigger_sql(table: str = DEFAULT_TABLE_NAME, schema: str | None = None) -> list[str]:
    """Return the statements (re)creating the trigger that announces changed sessions.

    `pg_notify` delivers at commit and drops the notifications of a rolled-back transaction,
    so a listener hears only of changes that happened, whoever made them (any adapter, the
    CLI, plain SQL).
    """
    name = quote_table(table, schema)
    function = quote_table(f"{table}_notify", schema)
    channel = notify_channel(table)
    ended, changed = notify_trigger_names(table)
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"    PERFORM pg_notify('{channel}', OLD.id);\n"
        "    RETURN NULL;\n"
        "END\n"
        "$$",
        f'DROP TRIGGER IF EXISTS "{ended}" ON {name}',
        f'CREATE TRIGGER "{ended}" AFTER DELETE ON {name}\n'
        f"    FOR EACH ROW EXECUTE FUNCTION {function}()",
        f'DROP TRIGGER IF EXISTS "{changed}" ON {name}',
        f'CREATE TRIGGER "{changed}" AFTER UPDATE ON {name}\n'
        f"    FOR EACH ROW WHEN (({_old_new('OLD')}) IS DISTINCT FROM ({_old_new('NEW')}))\n"
        f"    EXECUTE FUNCTION {function}()",
    ]


def _old_new(row: str) -> str:
    return ", ".join(f"{row}.{column}" for column in _NOTIFIED_COLUMNS.split(", "))


UPDATABLE = ("expires_at", "data", "last_seen_at", "authenticated_at")
"""The columns `SessionStore.update` may set, in the order `update_values` gives them."""


def update_values(
    *,
    expires_at: datetime | None = None,
    data: Mapping[str, Any] | None = None,
    last_seen_at: datetime | None = None,
    authenticated_at: datetime | None = None,
) -> dict[str, Any]:
    """Return the given fields of an `update` call, checked and encoded, in `UPDATABLE` order.

    Datetimes come back in UTC and `data` as `dump_data` text; fields given as None are left
    out, so an empty result means "nothing to change". Every store calls this before it
    touches its storage, so a refused value writes nothing.

    Raises:
        ValueError: A datetime is naive, or `data` holds what jsonb refuses.
        TypeError: A datetime is not one, or `data` is not a JSON object.
    """
    values: dict[str, Any] = {}
    if expires_at is not None:
        values["expires_at"] = ensure_utc(expires_at, "expires_at")
    if data is not None:
        values["data"] = dump_data(data)
    if last_seen_at is not None:
        values["last_seen_at"] = ensure_utc(last_seen_at, "last_seen_at")
    if authenticated_at is not None:
        values["authenticated_at"] = ensure_utc(authenticated_at, "authenticated_at")
    return values


def dump_data(data: Mapping[str, Any]) -> str:
    """Encode session data as compact JSON text; refuse what PostgreSQL's jsonb would refuse.

    Floats stay floats through jsonb: Python writes 1e16 as `1e+16`, which jsonb stores as the
    integer 10000000000000000, so such floats are written out in full with a `.0`.

    Raises:
        TypeError: `data` is not a mapping, or holds something JSON cannot encode.
        ValueError: `data` holds NaN, an infinity, or a NUL character (jsonb refuses it).
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"session data must be a mapping, got {type(data).__name__}")
    text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    if "e+" in text:  # rare: a large float (or just those characters inside a string)
        text = _encode(data)
    if "\\u0000" in text and _holds_nul(data):
        raise ValueError("session data holds a NUL character, which PostgreSQL's jsonb refuses")
    return text


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def _encode(value: Any) -> str:
    if isinstance(value, float):
        text = json.dumps(value, allow_nan=False)
        return f"{int(value)}.0" if "e+" in text else text
    if isinstance(value, Mapping):
        items = (f"{_encode_key(k)}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


def _encode_key(key: Any) -> str:
    # json.dumps turns non-string keys into strings (1 -> "1", True -> "true"); so do we.
    if not isinstance(key, str):
        key = json.dumps(key, allow_nan=False)
    return json.dumps(key, ensure_ascii=False)


def load_data(text: str | bytes) -> dict[str, Any]:
    """Decode JSON text written by `dump_data` (or read from a jsonb column as text)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"stored session data is not a JSON object: {type(value).__name__}")
    return value
