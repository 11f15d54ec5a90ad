"""How anchor-asyncpg turns asyncpg's errors into store errors: through the core's taxonomy."""

from __future__ import annotations

from fastapi_anchor.store import StoreError, StoreRejected
from fastapi_anchor.toolkit import store_error

__all__ = ["CREATE_HINT", "UPGRADE_HINT", "translate"]

CREATE_HINT = (
    "`await store.create_table()` (AsyncpgStore.create_table) or the SQL of "
    "fastapi_anchor.toolkit.create_table_sql() in your migrations"
)
"""How to create the table, for `TableMissing`'s message."""

UPGRADE_HINT = (
    "`await store.upgrade_table()` (AsyncpgStore.upgrade_table) or the SQL of "
    "fastapi_anchor.toolkit.upgrade_table_sql() in your migrations"
)
"""How to bring a schema 1 table to schema 2, for the message of a missing column."""

_UNDEFINED_COLUMN = "42703"


def translate(error: BaseException, table: str, *, inserting: bool = False) -> StoreError | None:
    """The store error `error` stands for (`fastapi_anchor.failures`), or None to re-raise it.

    A column the table lacks most likely means a table made before schema 2: the message
    then says how to upgrade it.
    """
    translated = store_error(error, table=table, create_hint=CREATE_HINT, inserting=inserting)
    if isinstance(translated, StoreRejected) and translated.sqlstate == _UNDEFINED_COLUMN:
        return StoreRejected(
            f"{translated}; if the table predates schema 2, upgrade it with {UPGRADE_HINT}",
            sqlstate=translated.sqlstate,
        )
    return translated
