"""How anchor-asyncpg turns asyncpg's errors into store errors: through the core's taxonomy."""

from __future__ import annotations

from fastapi_anchor.store import StoreError
from fastapi_anchor.toolkit import store_error

__all__ = ["CREATE_HINT", "translate"]

CREATE_HINT = (
    "`await store.create_table()` (AsyncpgStore.create_table) or the SQL of "
    "fastapi_anchor.toolkit.create_table_sql() in your migrations"
)
"""How to create the table, for `TableMissing`'s message."""


def translate(error: BaseException, table: str, *, inserting: bool = False) -> StoreError | None:
    """The store error `error` stands for (`fastapi_anchor.failures`), or None to re-raise it."""
    return store_error(error, table=table, create_hint=CREATE_HINT, inserting=inserting)
