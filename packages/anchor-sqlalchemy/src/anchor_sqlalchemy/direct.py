"""`DirectRead`: the store's hot SELECT on a pooled DBAPI connection, without a `Connection`.

A full SQLAlchemy `Connection` costs about as much CPU per call as the query itself (cache key,
execution context, `Result`, characteristics set and reset). For the one statement run on every
authenticated request the store compiles the Core `select` once and runs it on a connection
checked out of the engine's own pool (`Engine.raw_connection()`, the documented way to reach
the DBAPI), in autocommit mode.

It applies only while nothing can tell the difference, re-checked on every call: the dialect
needs no Python-side conversion of the parameter or the columns (true of asyncpg, not of
SQLite), the engine carries no execution options beyond the isolation level, statement
logging is off (`echo`), and no listener watches statement execution (tracing, query logging,
`handle_error`). Otherwise the store uses a `Connection` as for every other statement.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Select, exc
from sqlalchemy.engine import Engine

__all__ = ["DirectRead", "StaleConnection"]

_WATCHING_EVENTS = (
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
)
_WATCHING_DIALECT_EVENTS = ("handle_error", "do_execute")


class StaleConnection(Exception):
    """The pooled connection was dead (now invalidated); retry on a `Connection`."""


class DirectRead:
    """Run one single-parameter SELECT straight on the pool's DBAPI connections.

    Build it with `prepare`, which returns None where the dialect needs conversions.
    """

    def __init__(self, engine: Engine, sql: str) -> None:
        self.engine = engine
        self.sql = sql

    @classmethod
    def prepare(cls, engine: Engine, statement: Select[Any], parameter: str) -> DirectRead | None:
        """Compile `statement` for `engine`; None if it cannot run without conversions.

        Args:
            engine: The (autocommit) engine whose pool and dialect to use.
            statement: A SELECT whose only bind parameter is named `parameter`.
            parameter: The name of that bind parameter.
        """
        dialect = engine.dialect
        if set(engine.get_execution_options()) - {"isolation_level"}:
            return None  # schema_translate_map and friends are the Connection's business
        compiled = statement.compile(dialect=dialect)
        if not compiled.positional or list(compiled.positiontup or ()) != [parameter]:
            return None
        bind_type = compiled.binds[parameter].type.dialect_impl(dialect)
        if bind_type.bind_processor(dialect) is not None:
            return None
        for column in statement.selected_columns:
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                return None
        return cls(engine, str(compiled))

    def usable(self) -> bool:
        """Whether the direct path is invisible now: no statement logging, no listeners."""
        engine = self.engine
        if engine.logger.isEnabledFor(logging.INFO):
            return False
        if any(getattr(engine.dispatch, name) for name in _WATCHING_EVENTS):
            return False
        return not any(getattr(engine.dialect.dispatch, name) for name in _WATCHING_DIALECT_EVENTS)

    def first(self, value: Any) -> Any:
        """Return the first row for `value`, or None. Call it inside a greenlet.

        Raises:
            StaleConnection: The connection turned out dead; it has been invalidated.
            sqlalchemy.exc.DBAPIError: Any other error of the driver, wrapped as a
                `Connection` would wrap it.
        """
        dialect = self.engine.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            raw = self.engine.raw_connection()
        except dbapi_error as error:  # wrapped as a Connection would wrap it
            invalidated = dialect.is_disconnect(error, None, None)
            raise exc.DBAPIError.instance(
                None, None, error, dbapi_error, connection_invalidated=invalidated, dialect=dialect
            ) from error
        dbapi_connection = raw.dbapi_connection
        assert dbapi_connection is not None  # a fresh checkout always has one
        try:
            dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
            try:
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute(self.sql, (value,))
                    return cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                dialect.reset_isolation_level(dbapi_connection)
        except dbapi_error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raw.invalidate(error)
                raise StaleConnection from error
            raise exc.DBAPIError.instance(
                self.sql, (value,), error, dbapi_error, dialect=dialect
            ) from error
        except BaseException as error:
            # Cancelled or interrupted mid-query: the connection's state is unknown, as
            # SQLAlchemy's Connection also assumes.
            raw.invalidate(error)
            raise
        finally:
            raw.close()
