"""`DirectRead`: the store's hot SELECT straight on asyncpg, on a connection of the engine's pool.

A SQLAlchemy `Connection` costs about as much CPU per call as the query itself (cache key,
execution context, `Result`, characteristics set and reset), and the asyncpg dialect's DBAPI
cursor adds its own lock, prepared-statement cache and description. For the one statement run
on every authenticated request the store compiles the Core `select` once, checks a connection
out of the engine's own pool (`Engine.raw_connection()`, the documented way to reach the
DBAPI) and runs the SQL with `asyncpg.Connection.fetchrow` on the driver connection beneath
it. Outside a transaction asyncpg runs it in autocommit: no BEGIN, no isolation level to set,
and the pool's reset on return sends nothing, since the dialect's adapter began no transaction.

It applies only on the asyncpg driver and only while nothing can tell the difference, checked
once for the statement and again on every call: the dialect needs no Python-side conversion of
the parameter or the columns, the engine carries no execution options beyond the isolation
level, statement logging (`echo`) is off, no listener watches statement execution (tracing,
query logging, `handle_error`), and the connection names its prepared statements as asyncpg
does (a `prepared_statement_name_func`, SQLAlchemy's recipe for PgBouncer, keeps reads on the
`Connection`, since asyncpg's statement cache numbers its statements). Otherwise, and whenever
the direct read fails, the store reads through a `Connection`, which raises SQLAlchemy's usual
errors; a connection the failure left dead or unusable is invalidated first. Only a server that
refuses for now (a statement timeout, a shutdown: SQLSTATE classes 53, 57, 58) gives
`StoreUnavailable` at once, since reading again would only wait again.

Those checks read a few private names of SQLAlchemy (`_has_events` on the engine and dialect,
`OptionEngine._proxied`, the asyncpg adapter's statement naming, `sqlalchemy.util.await_`),
which the package's version bound (`<2.2`) keeps to releases the tests ran on. Each is looked
up once per engine, when the store is built: if one is gone, the store reads through a
`Connection` from then on, and says so once with a `RuntimeWarning`.
"""

# asyncpg ships no type information; asyncpg-stubs adds it where installed.
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import inspect
import logging
import re
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy
import sqlalchemy.util
from sqlalchemy import Select, exc
from sqlalchemy.engine import Engine
from sqlalchemy.engine.base import OptionEngine
from sqlalchemy.pool import PoolProxiedConnection

from anchor_sqlalchemy.errors import busy_server, unavailable

__all__ = ["DirectRead", "NotRead"]

_WATCHING_EVENTS = (
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
)
_WATCHING_DIALECT_EVENTS = ("handle_error", "do_execute")
_PLACEHOLDER = re.compile(r"\$\d+")
_TIMEOUTS = TimeoutError
# Engines whose missing private names were reported already (one warning per engine).
_WARNED: weakref.WeakSet[Engine] = weakref.WeakSet()


class NotRead(Exception):
    """The direct read did not happen or failed: read through a `Connection` instead.

    The connection it used, if dead or unusable, has already been invalidated; the
    `Connection` path repeats the read and raises SQLAlchemy's error for any failure.
    """


class DirectRead:
    """Run one single-parameter SELECT with asyncpg on the pool's driver connections.

    Build it with `prepare`, which returns None where the direct path cannot apply.

    Args:
        engine: The (autocommit) engine whose pool to use; its driver is asyncpg.
        sql: The compiled SELECT, with one placeholder `$1`.
    """

    def __init__(self, engine: Engine, sql: str, private: _PrivateNames) -> None:
        # Imported here: asyncpg is an optional dependency, present where this class is built.
        import asyncpg

        self.engine = engine
        self.sql = sql
        self._await = private.await_
        # The engine listeners attach to: the application's, beneath the store's option engine.
        self._watched: Engine = private.watched
        # Errors after which a connection cannot serve another query (timeouts excepted).
        self._broken_errors: tuple[type[BaseException], ...] = (
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            asyncpg.AdminShutdownError,  # 57P01: the server ended this connection
            asyncpg.CrashShutdownError,  # 57P02
            OSError,
        )
        # None on SQLAlchemy versions without prepared_statement_name_func, like the adapter's.
        self._default_name_func = private.default_name_func
        # Set once a connection shows the application names its statements: the engine's
        # connect arguments, so every connection does; no direct read from then on.
        self._app_names_statements = False

    @classmethod
    def prepare(cls, engine: Engine, statement: Select[Any], parameter: str) -> DirectRead | None:
        """Compile `statement` for `engine`; None unless asyncpg can run it as it is.

        Args:
            engine: The (autocommit) engine whose pool and dialect to use.
            statement: A SELECT whose only bind parameter is named `parameter`.
            parameter: The name of that bind parameter.
        """
        dialect = engine.dialect
        if dialect.driver != "asyncpg" or dialect.paramstyle != "numeric_dollar":
            return None
        if set(engine.get_execution_options()) - {"isolation_level"}:
            return None  # schema_translate_map and friends are the Connection's business
        compiled = statement.compile(dialect=dialect)
        if list(compiled.positiontup or ()) != [parameter]:
            return None
        sql = str(compiled)
        if _PLACEHOLDER.findall(sql) != ["$1"]:
            return None
        bind_type = compiled.binds[parameter].type.dialect_impl(dialect)
        if bind_type.bind_processor(dialect) is not None:
            return None
        for column in statement.selected_columns:
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                return None
        private = _PrivateNames.look_up(engine)
        if isinstance(private, list):
            _warn_once(engine, private)
            return None
        return cls(engine, sql, private)

    def usable(self) -> bool:
        """Whether the direct path is invisible now: no statement logging, no listeners."""
        engine = self.engine
        if self._app_names_statements or engine.logger.isEnabledFor(logging.INFO):
            return False
        # SQLAlchemy flags an engine or dialect (or their class) at its first listener and
        # checks the flag itself before dispatching; looking at the listeners costs more.
        if self._watched._has_events and any(
            getattr(engine.dispatch, name) for name in _WATCHING_EVENTS
        ):
            return False
        dialect = engine.dialect
        return not (
            dialect._has_events
            and any(getattr(dialect.dispatch, name) for name in _WATCHING_DIALECT_EVENTS)
        )

    def first(self, value: Any) -> Any:
        """Return the first row for `value` (an `asyncpg.Record`), or None. Call it in a greenlet.

        Raises:
            NotRead: The read did not succeed; the caller reads through a `Connection`.
            StoreUnavailable: The server refused for now (statement timeout, query canceled,
                shutting down, out of resources): reading again would only wait again.
            sqlalchemy.exc.DBAPIError: No connection could be checked out, wrapped as a
                `Connection` would wrap it.
        """
        raw = self._checkout()
        try:
            adapter = raw.dbapi_connection  # SQLAlchemy's adapter around the asyncpg connection
            naming = getattr(adapter, "_prepared_statement_name_func", None)
            if naming is not self._default_name_func:
                self._app_names_statements = True  # PgBouncer's recipe: the engine's setting
                raise NotRead
            driver = raw.driver_connection  # an asyncpg.Connection
            assert driver is not None  # a fresh checkout always has one
            try:
                return self._await(driver.fetchrow(self.sql, value))
            except Exception as error:
                if driver.is_closed() or (
                    isinstance(error, self._broken_errors) and not isinstance(error, _TIMEOUTS)
                ):
                    raw.invalidate(error)
                elif busy_server(error):  # a statement timeout, a shutdown: it would wait again
                    raise unavailable(error) from error
                raise NotRead from error
            except BaseException as error:
                # Cancelled or interrupted mid-query: the connection's state is unknown, as
                # SQLAlchemy's Connection also assumes.
                raw.invalidate(error)
                raise
        finally:
            raw.close()

    def _checkout(self) -> PoolProxiedConnection:
        """A connection from the engine's pool; a driver error wrapped as a `Connection` would."""
        dialect = self.engine.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            return self.engine.raw_connection()
        except dbapi_error as error:
            invalidated = dialect.is_disconnect(error, None, None)
            raise exc.DBAPIError.instance(
                None, None, error, dbapi_error, connection_invalidated=invalidated, dialect=dialect
            ) from error


class _PrivateNames:
    """What the direct read takes from SQLAlchemy's private names, looked up for one engine."""

    __slots__ = ("await_", "default_name_func", "watched")

    def __init__(
        self, watched: Engine, await_: Callable[[Any], Any], default_name_func: object
    ) -> None:
        self.watched = watched
        self.await_ = await_
        self.default_name_func = default_name_func

    @classmethod
    def look_up(cls, engine: Engine) -> _PrivateNames | list[str]:
        """The names for `engine` (an asyncpg engine), or the list of those that are missing."""
        missing: list[str] = []
        watched = engine
        if isinstance(engine, OptionEngine):
            watched = getattr(engine, "_proxied", engine)
            if watched is engine:
                missing.append("OptionEngine._proxied")
        if not hasattr(watched, "_has_events"):
            missing.append("Engine._has_events")
        if not hasattr(engine.dialect, "_has_events"):
            missing.append("Dialect._has_events")
        # SQLAlchemy 2.1 calls it await_; 2.0 only await_only (deprecated from 2.2).
        await_ = getattr(sqlalchemy.util, "await_", None) or getattr(
            sqlalchemy.util, "await_only", None
        )
        if await_ is None:
            missing.append("sqlalchemy.util.await_")
        default_name_func = _default_name_func(missing)
        if missing:
            return missing
        assert await_ is not None  # else it is missing
        return cls(watched, await_, default_name_func)


def _default_name_func(missing: list[str]) -> object:
    """The adapter's default statement naming: None where the adapter has no naming option."""
    try:
        from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
    except ImportError:
        missing.append("sqlalchemy.dialects.postgresql.asyncpg.AsyncAdapt_asyncpg_connection")
        return None
    adapter = AsyncAdapt_asyncpg_connection
    if "prepared_statement_name_func" not in inspect.signature(adapter.__init__).parameters:
        return None  # SQLAlchemy 2.0 before the option: asyncpg names every statement itself
    default = getattr(adapter, "_default_name_func", None)
    if default is None:
        missing.append("AsyncAdapt_asyncpg_connection._default_name_func")
    if not hasattr(adapter, "_prepared_statement_name_func"):
        missing.append("AsyncAdapt_asyncpg_connection._prepared_statement_name_func")
    return default


def _warn_once(engine: Engine, missing: list[str]) -> None:
    watched = getattr(engine, "_proxied", engine)
    if watched in _WARNED:
        return
    _WARNED.add(watched)
    warnings.warn(
        f"anchor-sqlalchemy: SQLAlchemy {sqlalchemy.__version__} lacks {', '.join(missing)}; "
        "sessions are read through a Connection (same results, more CPU per request)",
        RuntimeWarning,
        stacklevel=4,
    )
