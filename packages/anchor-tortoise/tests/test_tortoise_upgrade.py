"""A schema 1 table holding live sessions, upgraded to schema 2 the ways the README gives.

Each test makes the table users have today, fills it with live sessions through plain SQL (as
the earlier store wrote them), runs one upgrade as a user would (aerich's commands, Tortoise's
own migrations, or `TortoiseStore.upgrade_table()`), then proves that nothing was lost: every
row reads through the new store with the documented defaults, a FastAPI app still
authenticates the old cookies, the table is exactly the one `create_table_sql` makes, and its
trigger announces committed deletes only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from tortoise.contrib.fastapi import RegisterTortoise

from anchor_tortoise import TortoiseStore
from fastapi_anchor import Anchor
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.testing import https_client, session_app
from fastapi_anchor.tokens import hash_token, new_token
from fastapi_anchor.toolkit import (
    DEFAULT_TABLE_NAME,
    NEW_COLUMNS,
    create_table_sql,
    dump_data,
    load_data,
    notify_channel,
    quote_table,
    utc_now,
)

from catalog import schema_1_sql
from required import module

pytestmark = pytest.mark.anyio

SESSIONS_V1 = '''"""The sessions model as anchor-tortoise defined it before the five columns."""

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.indexes import Index
from tortoise.models import Model

from fastapi_anchor.toolkit import dump_data, load_data


class AnchorSession(Model):
    id = fields.CharField(max_length=64, primary_key=True)
    user_id = fields.CharField(max_length=255)
    data = fields.JSONField(encoder=dump_data, decoder=load_data, db_default=SqlDefault("'{}'"))
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "anchor_sessions"
        indexes = (
            Index(fields=("user_id",), name="anchor_sessions_user_id_idx"),
            Index(fields=("expires_at",), name="anchor_sessions_expires_at_idx"),
        )


__models__ = [AnchorSession]
'''
"""The model module of schema 1, as the earlier `anchor_tortoise.models` made it."""

SECRET = "tortoise-upgrade-secret-key-0123456789abcdef"
IDLE_TIMEOUT = timedelta(days=14)

Describe = Callable[[Any, str, str], Awaitable[dict[str, Any]]]


async def make_schema_1(conn: asyncpg.Connection, schema: str) -> None:
    for statement in schema_1_sql(schema=schema):
        await conn.execute(statement)


async def make_schema_2(conn: asyncpg.Connection, schema: str) -> None:
    for statement in create_table_sql(DEFAULT_TABLE_NAME, schema):
        await conn.execute(statement)


async def insert_v1(conn: asyncpg.Connection, schema: str, user_id: str, **data: Any) -> str:
    """Insert a live session as the earlier stores did (the five columns); return its token."""
    token = new_token()
    created = utc_now() - timedelta(minutes=10, microseconds=7)
    await conn.execute(
        f"INSERT INTO {quote_table(DEFAULT_TABLE_NAME, schema)} "
        "(id, user_id, data, created_at, expires_at) VALUES ($1, $2, $3::jsonb, $4, $5)",
        hash_token(token),
        user_id,
        dump_data(data),
        created,
        created + IDLE_TIMEOUT - timedelta(days=1),  # no sliding refresh due yet
    )
    return token


async def live_sessions(conn: asyncpg.Connection, schema: str) -> dict[str, SessionRecord]:
    """Three live sessions of two users in a schema 1 table, by token, as they read back."""
    tokens = [
        await insert_v1(conn, schema, "alice", role="reader"),
        await insert_v1(conn, schema, "alice", cart=["é", 1]),
        await insert_v1(conn, schema, "bob"),
    ]
    return {token: await read_v1(conn, schema, token) for token in tokens}


async def read_v1(conn: asyncpg.Connection, schema: str, token: str) -> SessionRecord:
    """A row read the way schema 1 code reads it (five columns)."""
    row = await conn.fetchrow(
        "SELECT id, user_id, created_at, expires_at, data::text AS data "
        f"FROM {quote_table(DEFAULT_TABLE_NAME, schema)} WHERE id = $1",
        hash_token(token),
    )
    assert row is not None
    return SessionRecord(
        row["id"], row["user_id"], row["created_at"], row["expires_at"], load_data(row["data"])
    )


@asynccontextmanager
async def upgraded_app(
    credentials: dict[str, Any], schema: str
) -> AsyncIterator[tuple[Any, Anchor, TortoiseStore]]:
    """The new store on the default model, under a FastAPI app with `RegisterTortoise`."""
    config = {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": {**credentials, "schema": schema},
            }
        },
        "apps": {"models": {"models": ["anchor_tortoise.models"]}},
    }
    store = TortoiseStore()
    # Sessions inserted minutes ago need neither a refresh nor a last-seen write: requests
    # leave the rows as they were.
    anchor = Anchor(
        store,
        secret_keys=SECRET,
        idle_timeout=IDLE_TIMEOUT,
        last_seen_resolution=timedelta(hours=1),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config):
            yield

    app = session_app(anchor, lifespan=lifespan)
    async with app.router.lifespan_context(app), https_client(app) as client:
        yield client, anchor, store


async def check_sessions_survive(
    credentials: dict[str, Any],
    conn: asyncpg.Connection,
    schema: str,
    sessions: dict[str, SessionRecord],
) -> None:
    """Every session reads with the documented defaults and its old cookie still works."""
    async with upgraded_app(credentials, schema) as (client, anchor, store):
        for token, before in sessions.items():
            record = await store.get(before.id)
            assert record == before
            assert record.authenticated_at == record.last_seen_at == record.created_at
            assert (record.ip_address, record.user_agent, record.persistent) == (None, None, True)
            cookie = f"{anchor.cookie.name}={anchor.signer.sign(token)}"
            me = await client.get("/me", headers={"cookie": cookie})
            assert me.status_code == 200, me.text
            assert me.json() == {"user": before.user_id, "data": dict(before.data)}
            assert await store.get(before.id) == before
        alice = [r for r in sessions.values() if r.user_id == "alice"]
        assert sorted(await store.list_user("alice"), key=lambda r: r.id) == sorted(
            alice, key=lambda r: r.id
        )
        # Code of the earlier shape keeps writing during a rolling deploy.
        late = await insert_v1(conn, schema, "carol")
        assert await store.get(hash_token(late)) == await read_v1(conn, schema, late)
        assert await store.delete(hash_token(late))


async def check_trigger_notifies(
    credentials: dict[str, Any], dsn: str, conn: asyncpg.Connection, schema: str
) -> None:
    """The trigger announces committed deletes and changes, never a rolled-back delete or a
    last-seen time alone."""
    table = quote_table(DEFAULT_TABLE_NAME, schema)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener(
            notify_channel(DEFAULT_TABLE_NAME), lambda *args: heard.put_nowait(args[3])
        )
        ids = [hash_token(await insert_v1(conn, schema, "dave")) for _ in range(3)]
        async with upgraded_app(credentials, schema) as (_, _, store):
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute(f"DELETE FROM {table} WHERE id = $1", ids[0])
            await transaction.rollback()
            assert await store.update(ids[1], last_seen_at=utc_now())
            assert await store.delete(ids[2])
            assert await asyncio.wait_for(heard.get(), 10) == ids[2]
            assert await store.update(ids[1], expires_at=utc_now() + timedelta(hours=1))
            assert await asyncio.wait_for(heard.get(), 10) == ids[1]
        assert heard.empty()
    finally:
        await listener.close()


def renumbered(described: dict[str, Any]) -> dict[str, Any]:
    """`described` with its columns numbered 1, 2, ... in order (as if none had been dropped)."""
    columns = [
        {**column, "ordinal_position": n} for n, column in enumerate(described["columns"], 1)
    ]
    return {**described, "columns": columns}


@dataclass
class Project:
    """A user's project: a package with Tortoise settings, in a folder tools run in."""

    root: Path
    package: str
    credentials: dict[str, Any]

    def __post_init__(self) -> None:
        (self.root / self.package).mkdir()
        (self.root / self.package / "__init__.py").write_text("")
        (self.root / self.package / "sessions_v1.py").write_text(SESSIONS_V1)

    @property
    def settings(self) -> str:
        return f"{self.package}.settings.TORTOISE_ORM"

    def configure(self, models: list[str], *, migrations: bool = False) -> None:
        """Write the settings: one app `models` with these model modules."""
        app: dict[str, Any] = {"models": models, "default_connection": "default"}
        if migrations:
            app["migrations"] = f"{self.package}.migrations"
        config = {
            "connections": {
                "default": {
                    "engine": "tortoise.backends.asyncpg",
                    "credentials": self.credentials,
                }
            },
            "apps": {"models": app},
        }
        (self.root / self.package / "settings.py").write_text(f"TORTOISE_ORM = {config!r}\n")


@pytest.fixture
def project(
    tmp_path: Path, fresh_name: Callable[[str], str], tortoise_credentials: dict[str, Any]
) -> Callable[[str], Project]:
    """`project(schema)`: a fresh project whose connection works in `schema`."""

    def make(schema: str) -> Project:
        package = fresh_name("anchor_tortoise_project")
        return Project(tmp_path, package, {**tortoise_credentials, "schema": schema})

    return make


async def test_aerich_upgrades_a_schema_1_table_keeping_every_session(
    two_schemas: tuple[Any, str, str],
    new_schema: Callable[[str], Awaitable[str]],
    describe_table: Describe,
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    project: Callable[[str], Project],
    cli: Callable[..., str],
    readme_block: Callable[[str], str],
) -> None:
    """init-db at the old model, live sessions, then the README's upgrade: `aerich migrate`,
    its `upgrade()` made to return the core's statements, `aerich upgrade`. The downgrade
    returns to schema 1 with every session, and the upgrade applies again."""
    module("aerich", "an optional extra: anchor-tortoise[migrations]")
    conn, ours, reference = two_schemas
    schema_1 = await new_schema("anchor_tortoise_v1")
    await make_schema_1(conn, schema_1)
    await make_schema_2(conn, reference)
    user = project(ours)

    def aerich(*args: str) -> str:
        return cli(user.root, "aerich", *args)

    user.configure([f"{user.package}.sessions_v1", "aerich.models"])
    aerich("init", "-t", user.settings)
    aerich("init-db")
    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, schema_1, DEFAULT_TABLE_NAME
    )
    sessions = await live_sessions(conn, ours)

    # The package is upgraded: the app now lists the new model module.
    user.configure(["anchor_tortoise.models", "aerich.models"])
    aerich("migrate", "--name", "anchor_sessions_v2")
    (migration,) = (user.root / "migrations" / "models").glob("1_*_anchor_sessions_v2.py")
    generated = migration.read_text()
    assert len(re.findall(r'ALTER TABLE "anchor_sessions" ADD "\w+"', generated)) == len(
        NEW_COLUMNS
    )
    models_state = generated[generated.index("MODELS_STATE = (") :]
    migration.write_text(f"{readme_block('upgrade_table_sql(')}\n\n{models_state}")

    assert f"Success upgrading to {migration.name}" in aerich("upgrade")
    assert "No changes detected" in aerich("migrate", "--name", "nothing")
    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )
    await check_sessions_survive(tortoise_credentials, conn, ours, sessions)

    assert f"Success downgrading to {migration.name}" in aerich("downgrade", "--yes")
    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, schema_1, DEFAULT_TABLE_NAME
    )
    assert {token: await read_v1(conn, ours, token) for token in sessions} == sessions

    assert f"Success upgrading to {migration.name}" in aerich("upgrade")
    # PostgreSQL numbers the columns added again after the dropped ones: same order, new numbers.
    assert renumbered(await describe_table(conn, ours, DEFAULT_TABLE_NAME)) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )
    await check_sessions_survive(tortoise_credentials, conn, ours, sessions)
    await check_trigger_notifies(tortoise_credentials, postgres_dsn, conn, ours)


async def test_upgrade_table_upgrades_a_schema_1_table_keeping_every_session(
    two_schemas: tuple[Any, str, str],
    describe_table: Describe,
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
) -> None:
    """Without a migration tool: `TortoiseStore().upgrade_table()`, twice (the second changes
    nothing), on a table made by the schema 1 SQL with live sessions."""
    conn, ours, reference = two_schemas
    await make_schema_1(conn, ours)
    await make_schema_2(conn, reference)
    sessions = await live_sessions(conn, ours)

    async with upgraded_app(tortoise_credentials, ours) as (_, _, store):
        await store.upgrade_table()
        await store.upgrade_table()

    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )
    await check_sessions_survive(tortoise_credentials, conn, ours, sessions)
    await check_trigger_notifies(tortoise_credentials, postgres_dsn, conn, ours)


async def test_tortoise_migrations_upgrade_a_schema_1_table_keeping_every_session(
    two_schemas: tuple[Any, str, str],
    new_schema: Callable[[str], Awaitable[str]],
    describe_table: Describe,
    tortoise_credentials: dict[str, Any],
    postgres_dsn: str,
    project: Callable[[str], Project],
    cli: Callable[..., str],
    readme_block: Callable[[str], str],
) -> None:
    """Tortoise's own migrations: the old model's migration applied, live sessions, then the
    README's upgrade (`makemigrations`, its AddFields put in the table's order and the
    trigger's RunSQL appended, `migrate`)."""
    conn, ours, reference = two_schemas
    schema_1 = await new_schema("anchor_tortoise_v1")
    await make_schema_1(conn, schema_1)
    await make_schema_2(conn, reference)
    user = project(ours)

    def tortoise(*args: str) -> str:
        return cli(user.root, "tortoise", "-c", user.settings, *args)

    user.configure([f"{user.package}.sessions_v1"], migrations=True)
    tortoise("makemigrations")
    tortoise("migrate")
    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, schema_1, DEFAULT_TABLE_NAME
    )
    sessions = await live_sessions(conn, ours)

    user.configure(["anchor_tortoise.models"], migrations=True)
    tortoise("makemigrations", "--name", "anchor_sessions_v2")
    (migration,) = (user.root / user.package / "migrations").glob("0002_anchor_sessions_v2.py")
    migration.write_text(as_the_readme_says(migration.read_text(), readme_block("ops.RunSQL(")))
    tortoise("migrate")
    assert "No changes detected" in tortoise("makemigrations")

    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )
    await check_sessions_survive(tortoise_credentials, conn, ours, sessions)
    await check_trigger_notifies(tortoise_credentials, postgres_dsn, conn, ours)


OPERATION = r"^        ops\.{kind}\(\n.*?^        \),\n"


def as_the_readme_says(generated: str, example: str) -> str:
    """The generated migration with its AddFields in the table's column order, then the
    README example's RunSQL (and its import)."""
    adds = re.findall(OPERATION.format(kind="AddField"), generated, re.DOTALL | re.MULTILINE)
    named = {field_name(add): add for add in adds}
    assert sorted(named) == sorted(column for column, _ in NEW_COLUMNS)
    run_sql = re.search(OPERATION.format(kind="RunSQL"), example, re.DOTALL | re.MULTILINE)
    assert run_sql is not None
    first, last = generated.index(adds[0]), generated.index(adds[-1]) + len(adds[-1])
    return "".join(
        [
            "from fastapi_anchor.toolkit import notify_trigger_sql\n",
            generated[:first],
            *(named[column] for column, _ in NEW_COLUMNS),
            run_sql.group(0),
            generated[last:],
        ]
    )


def field_name(operation: str) -> str:
    """The `name=` of a generated `ops.AddField(...)`."""
    found = re.search(r"^\s+name='(\w+)'", operation, re.MULTILINE)
    assert found is not None, operation
    return found.group(1)
