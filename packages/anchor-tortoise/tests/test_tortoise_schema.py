"""The model maps the shared table of `create_table_sql`; `create_table()` adds its trigger."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from anchor_tortoise import TortoiseStore, sessions_table
from anchor_tortoise.models import AnchorSession
from fastapi_anchor.store import SessionRecord
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql, index_name

pytestmark = pytest.mark.anyio

T0 = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def default_model_config(credentials: dict[str, Any], schema: str) -> dict[str, Any]:
    """Tortoise configured as a user does it, the default model module, in `schema`."""
    return {
        "connections": {
            "default": {
                "engine": "tortoise.backends.asyncpg",
                "credentials": {**credentials, "schema": schema},
            }
        },
        "apps": {"models": {"models": ["anchor_tortoise.models"]}},
    }


@pytest.mark.parametrize("generate", [True, False], ids=["generate_schemas", "alone"])
async def test_create_table_makes_the_shared_table_exactly(
    two_schemas: tuple[Any, str, str],
    tortoise_credentials: dict[str, Any],
    describe_table: Callable[..., Any],
    generate: bool,
) -> None:
    """`TortoiseStore.create_table()`, after `generate_schemas` or alone, gives the table of
    `create_table_sql`, trigger included; run again, it changes nothing.

    Columns (type, length, nullability, default), indexes (name, method, columns, uniqueness),
    constraints, triggers (definitions) and the notify function match, name for name.
    """
    conn, ours, reference = two_schemas
    for statement in create_table_sql(DEFAULT_TABLE_NAME, reference):
        await conn.execute(statement)
    async with TortoiseContext() as context:
        await context.init(config=default_model_config(tortoise_credentials, ours))
        if generate:
            await context.generate_schemas()
        await TortoiseStore().create_table()
        await TortoiseStore().create_table()

    made = await describe_table(conn, ours, DEFAULT_TABLE_NAME)
    assert made == await describe_table(conn, reference, DEFAULT_TABLE_NAME)
    assert [c["column_name"] for c in made["columns"]] == [
        "id",
        "user_id",
        "data",
        "created_at",
        "expires_at",
        "authenticated_at",
        "last_seen_at",
        "ip_address",
        "user_agent",
        "persistent",
    ]
    defaults = {c["column_name"]: c["column_default"] for c in made["columns"]}
    assert defaults["data"] == "'{}'::jsonb"
    assert defaults["persistent"] == "true"
    assert {i["name"] for i in made["indexes"]} == {
        f"{DEFAULT_TABLE_NAME}_pkey",
        index_name(DEFAULT_TABLE_NAME, "user_id"),
        index_name(DEFAULT_TABLE_NAME, "expires_at"),
    }
    assert [t["name"] for t in made["trigger definitions"]] == [
        f"{DEFAULT_TABLE_NAME}_changed",
        f"{DEFAULT_TABLE_NAME}_ended",
    ]
    assert [f["name"] for f in made["functions"]] == [f"{DEFAULT_TABLE_NAME}_notify"]


async def test_workers_creating_the_table_at_once_all_succeed(
    two_schemas: tuple[Any, str, str],
    tortoise_credentials: dict[str, Any],
    describe_table: Callable[..., Any],
) -> None:
    """Every worker may run `create_table()` on start: concurrent runs wait for each other
    instead of colliding in the catalog."""
    conn, ours, reference = two_schemas
    for statement in create_table_sql(DEFAULT_TABLE_NAME, reference):
        await conn.execute(statement)
    config = default_model_config(tortoise_credentials, ours)
    config["connections"]["default"]["credentials"]["maxsize"] = 6
    async with TortoiseContext() as context:
        await context.init(config=config)
        await asyncio.gather(*(TortoiseStore().create_table() for _ in range(6)))
    assert await describe_table(conn, ours, DEFAULT_TABLE_NAME) == await describe_table(
        conn, reference, DEFAULT_TABLE_NAME
    )


async def test_generate_schemas_makes_all_but_the_trigger(
    two_schemas: tuple[Any, str, str],
    tortoise_credentials: dict[str, Any],
    describe_table: Callable[..., Any],
) -> None:
    """The model alone maps every column and index; only the trigger needs `create_table`."""
    conn, ours, reference = two_schemas
    for statement in create_table_sql(DEFAULT_TABLE_NAME, reference):
        await conn.execute(statement)
    async with TortoiseContext() as context:
        await context.init(config=default_model_config(tortoise_credentials, ours))
        await context.generate_schemas()

    generated = await describe_table(conn, ours, DEFAULT_TABLE_NAME)
    canonical = await describe_table(conn, reference, DEFAULT_TABLE_NAME)
    for part in ("attached", "triggers", "trigger definitions", "functions"):
        assert generated.pop(part) == []
        canonical.pop(part)
    assert generated == canonical


async def test_generated_table_and_canonical_table_share_rows(
    two_schemas: tuple[Any, str, str],
    tortoise_credentials: dict[str, Any],
    register_model: Any,
    new_record: Any,
) -> None:
    """A table made by `create_table_sql` serves the store, and the data default applies."""
    conn, _, reference = two_schemas
    for statement in create_table_sql("sessions_x", reference):
        await conn.execute(statement)
    model = sessions_table("sessions_x", schema=reference, name="SharedRows")
    await conn.execute(
        f'INSERT INTO "{reference}"."sessions_x" (id, user_id, created_at, expires_at) '
        "VALUES ($1, 'bob', $2, $3)",
        "b" * 64,
        T0,
        T0 + timedelta(hours=1),
    )
    with register_model(model) as module:
        config = {
            "connections": {
                "default": {
                    "engine": "tortoise.backends.asyncpg",
                    "credentials": tortoise_credentials,
                }
            },
            "apps": {"anchor": {"models": [module]}},
        }
        async with TortoiseContext() as context:
            await context.init(config=config)
            await context.generate_schemas()  # safe: leaves the existing table alone
            store = TortoiseStore(model=model)
            assert await store.get("b" * 64) == SessionRecord(
                "b" * 64, "bob", T0, T0 + timedelta(hours=1), {}
            )
            record = new_record("carol", data={"k": ["v", 1]})
            await store.create(record)
    row = await conn.fetchrow(
        f'SELECT user_id, created_at, expires_at, data::text FROM "{reference}"."sessions_x" '
        "WHERE id = $1",
        record.id,
    )
    assert tuple(row) == ("carol", record.created_at, record.expires_at, '{"k": ["v", 1]}')


def test_sessions_table_refuses_unsafe_names() -> None:
    with pytest.raises(ValueError, match="table name"):
        sessions_table('sessions"; DROP TABLE users; --')
    with pytest.raises(ValueError, match="schema name"):
        sessions_table("sessions", schema="a.b")


def test_sessions_table_builds_a_class_per_table() -> None:
    first = sessions_table("sessions_a", name="SessionsA")
    second = sessions_table("sessions_b", schema="auth", name="SessionsB")
    assert (first._meta.db_table, first._meta.schema) == ("sessions_a", None)
    assert (second._meta.db_table, second._meta.schema) == ("sessions_b", "auth")
    assert [i.name for i in second._meta.indexes] == [
        "sessions_b_user_id_idx",
        "sessions_b_expires_at_idx",
    ]
    assert AnchorSession._meta.db_table == DEFAULT_TABLE_NAME
