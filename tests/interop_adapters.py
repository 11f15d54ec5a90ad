"""The four PostgreSQL adapters behind one interface, for the interop tests (`test_interop.py`).

Each adapter opens a store on a table of a given name in the run's database, creating the
table only when asked (with its own ORM's means), and creates the default-named table in a
PostgreSQL schema of its own: asyncpg `create_table`, SQLAlchemy `metadata.create_all`,
Tortoise `generate_schemas` then `TortoiseStore.create_table` (the trigger), and the Piccolo
migrations run by Piccolo's command line.

Adding a fifth adapter is one more `Adapter` in `ADAPTERS`.
"""

from __future__ import annotations

import os
import secrets
import sys
import types
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import asyncpg

from fastapi_anchor.store import SessionStore
from fastapi_anchor.toolkit import skip_reset

OpenStore = Callable[[str, str, bool], AbstractAsyncContextManager[SessionStore]]
"""`open(dsn, table, create)`: a store on `table`, which it creates first when `create`."""

CreateDefault = Callable[[str, str, Path], Awaitable[None]]
"""`create(dsn, schema, workdir)`: the default-named table made in `schema` the ORM's way."""


@dataclass(frozen=True)
class Adapter:
    """One PostgreSQL adapter: how to open its store and how it creates the table."""

    name: str
    open: OpenStore
    create_default: CreateDefault
    how: str  # the table creation it exercises, for messages


def sqlalchemy_url(dsn: str) -> str:
    """The SQLAlchemy URL (asyncpg driver) of a `postgresql://` DSN."""
    scheme, rest = dsn.split("://", 1)
    assert scheme in ("postgres", "postgresql"), dsn
    return f"postgresql+asyncpg://{rest}"


# --- asyncpg ---------------------------------------------------------------------------------


@asynccontextmanager
async def _asyncpg_store(dsn: str, table: str, create: bool) -> AsyncIterator[SessionStore]:
    from anchor_asyncpg import AsyncpgStore

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4, reset=skip_reset)
    try:
        store = AsyncpgStore(pool, table=table)
        if create:
            await store.create_table()
        yield store
    finally:
        await pool.close()


async def _asyncpg_create(dsn: str, schema: str, workdir: Path) -> None:
    from anchor_asyncpg import AsyncpgStore

    async with AsyncpgStore(dsn, schema=schema) as store:
        await store.create_table()


# --- SQLAlchemy ------------------------------------------------------------------------------


@asynccontextmanager
async def _sqlalchemy_store(dsn: str, table: str, create: bool) -> AsyncIterator[SessionStore]:
    from sqlalchemy import MetaData
    from sqlalchemy.ext.asyncio import create_async_engine

    from anchor_sqlalchemy import SQLAlchemyStore, sessions_table

    engine = create_async_engine(sqlalchemy_url(dsn), pool_size=4)
    try:
        store = SQLAlchemyStore(engine, sessions_table(MetaData(), table))
        if create:
            await store.create_table()
        yield store
    finally:
        await engine.dispose()


async def _sqlalchemy_create(dsn: str, schema: str, workdir: Path) -> None:
    from sqlalchemy import MetaData
    from sqlalchemy.ext.asyncio import create_async_engine

    from anchor_sqlalchemy import sessions_table

    metadata = MetaData()  # an application's MetaData, the table on it as Alembic would see it
    sessions_table(metadata, schema=schema)
    engine = create_async_engine(sqlalchemy_url(dsn))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


# --- Tortoise ORM ----------------------------------------------------------------------------


@asynccontextmanager
async def _tortoise_context(dsn: str, model: Any, generate: bool) -> AsyncIterator[None]:
    """A live Tortoise context whose only app holds `model` (in a module made for it); with
    `generate`, the table made as the README says: `generate_schemas`, then
    `TortoiseStore.create_table()` for the trigger Tortoise cannot declare."""
    from tortoise.context import TortoiseContext

    from anchor_tortoise import TortoiseStore, credentials_from_dsn

    module_name = f"interop_tortoise_models_{secrets.token_hex(4)}"
    module = types.ModuleType(module_name)
    module.__dict__.update({model.__name__: model, "__models__": [model]})
    sys.modules[module_name] = module
    config = {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": credentials_from_dsn(dsn, reset=skip_reset),
            }
        },
        "apps": {"anchor": {"models": [module_name], "default_connection": "default"}},
    }
    try:
        async with TortoiseContext() as context:
            try:
                await context.init(config=config)
                if generate:
                    await context.generate_schemas()
                    await TortoiseStore("default", model=model).create_table()
                yield
            finally:
                await context.close_connections()
    finally:
        del sys.modules[module_name]


@asynccontextmanager
async def _tortoise_store(dsn: str, table: str, create: bool) -> AsyncIterator[SessionStore]:
    from anchor_tortoise import TortoiseStore, sessions_table

    model = sessions_table(table)
    async with _tortoise_context(dsn, model, generate=create):
        yield TortoiseStore("default", model=model)


async def _tortoise_create(dsn: str, schema: str, workdir: Path) -> None:
    from anchor_tortoise import sessions_table

    async with _tortoise_context(dsn, sessions_table(schema=schema), generate=True):
        pass


# --- Piccolo ---------------------------------------------------------------------------------


def piccolo_engine(dsn: str, **config: Any) -> Any:
    """A Piccolo `PostgresEngine` on `dsn` (building one connects once to check the version)."""
    from piccolo.engine.postgres import PostgresEngine

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Piccolo warns where it cannot reach the server
        return PostgresEngine(config={"dsn": dsn, **config})


@asynccontextmanager
async def _piccolo_store(dsn: str, table: str, create: bool) -> AsyncIterator[SessionStore]:
    from anchor_piccolo import PiccoloStore

    engine = piccolo_engine(dsn)
    await engine.start_connection_pool(min_size=1, max_size=4, reset=skip_reset)
    try:
        store = PiccoloStore(engine, table=table)
        if create:
            await store.create_table()
        yield store
    finally:
        await engine.close_connection_pool()


async def _piccolo_create(dsn: str, schema: str, workdir: Path) -> None:
    """`piccolo migrations forwards anchor_piccolo`, with a piccolo_conf working in `schema`."""
    module = f"piccolo_conf_{secrets.token_hex(4)}"
    (workdir / f"{module}.py").write_text(
        "from piccolo.conf.apps import AppRegistry\n"
        "from piccolo.engine.postgres import PostgresEngine\n\n"
        f"DB = PostgresEngine(config={{'dsn': {dsn!r},"
        f" 'server_settings': {{'search_path': {schema!r}}}}})\n"
        "APP_REGISTRY = AppRegistry(apps=['anchor_piccolo.piccolo_app'])\n"
    )
    path = os.pathsep.join([str(workdir), *filter(None, [os.environ.get("PYTHONPATH")])])
    with anyio.fail_after(120):
        result = await anyio.run_process(
            [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "anchor_piccolo"],
            cwd=workdir,
            env={**os.environ, "PICCOLO_CONF": module, "PYTHONPATH": path},
            check=False,
        )
    assert result.returncode == 0, (result.stdout + result.stderr).decode(errors="replace")


ADAPTERS = (
    Adapter("asyncpg", _asyncpg_store, _asyncpg_create, "AsyncpgStore.create_table()"),
    Adapter("sqlalchemy", _sqlalchemy_store, _sqlalchemy_create, "MetaData.create_all"),
    Adapter(
        "tortoise",
        _tortoise_store,
        _tortoise_create,
        "Tortoise generate_schemas() + TortoiseStore.create_table()",
    ),
    Adapter("piccolo", _piccolo_store, _piccolo_create, "piccolo migrations forwards"),
)
"""Every PostgreSQL adapter of the repository."""
