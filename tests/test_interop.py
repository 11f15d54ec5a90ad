"""One table for every PostgreSQL adapter: what one writes, any other reads, updates and deletes.

An application must be able to switch ORM without migrating its sessions. Two proofs:

- the matrix: for every ordered pair of adapters (writer, reader) on ONE table, the writer
  creates sessions (unicode and emoji, nested data, large numbers, microsecond times in zones
  other than UTC), the reader gets exactly the same `SessionRecord`s, updates them, expires
  and deletes them, and the writer sees every change;
- the schema: each adapter's own way of creating the table (asyncpg `create_table`,
  SQLAlchemy `create_all`, Tortoise `generate_schemas` then `create_table`, the Piccolo
  migrations) gives exactly
  the columns, types, nullability, defaults, constraints and indexes of `create_table_sql`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from fastapi_anchor.store import SessionRecord
from fastapi_anchor.tokens import hash_token, new_token
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, create_table_sql, index_name

import interop_adapters
from catalog import describe_table

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

ADAPTERS = interop_adapters.ADAPTERS

KATHMANDU = timezone(timedelta(hours=5, minutes=45))
ST_JOHNS = timezone(-timedelta(hours=3, minutes=30))
NOW = datetime(2031, 7, 8, 9, 10, 11, 123456, tzinfo=KATHMANDU)

USER = "Zoë 🦊 ユーザー"
OTHER_USER = "δ-\U0001d518ser \U0001f469\u200d\U0001f4bb"  # beyond the BMP, a ZWJ sequence
LONG_USER = "é" * 255  # varchar(255) counts characters, not bytes

RICH_DATA: dict[str, Any] = {
    "name": "Ådne 🦀 ñandú",
    "roles": ["admin", "éditeur", "管理者"],
    "prefs": {"theme": {"dark": True, "contrast": None}, "langs": ["nb", "ja"], "empty": {}},
    "numbers": [0, -1, 2**53 + 1, 2**70, 0.1, -2.5e-7, 1e16, 1.5e300, 5e-324],
    'quote"and\\backslash': "line\nbreak\ttab",
    "": "empty key",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # asyncpg, and every adapter on it, runs on asyncio only


def new_id() -> str:
    return hash_token(new_token())


def sessions() -> dict[str, SessionRecord]:
    """The records a writer creates, each testing something different of the encoding."""
    return {
        "rich": SessionRecord(
            new_id(),
            USER,
            NOW - timedelta(microseconds=123455),  # ...:11.000001 in Kathmandu
            datetime(2031, 7, 22, 1, 2, 3, 999999, tzinfo=ST_JOHNS),
            RICH_DATA,
        ),
        "plain": SessionRecord(new_id(), USER, NOW, NOW + timedelta(days=14, microseconds=1), {}),
        "expired": SessionRecord(
            new_id(),
            USER,
            NOW - timedelta(days=30),
            NOW - timedelta(microseconds=1),
            {"why": "expired a microsecond before NOW"},
        ),
        "other": SessionRecord(
            new_id(), OTHER_USER, NOW, NOW + timedelta(hours=1), {"ünï": ["cödé", {"x": 1}]}
        ),
        "long": SessionRecord(new_id(), LONG_USER, NOW, NOW + timedelta(hours=2), {"n": 1}),
    }


def by_id(records: list[SessionRecord]) -> list[SessionRecord]:
    return sorted(records, key=lambda record: record.id)


@pytest.fixture
async def shared_table(pg_admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A fresh table name in the run's database; the table (whoever made it) is dropped after."""
    table = f"anchor_interop_{secrets.token_hex(4)}"
    yield table
    await pg_admin.execute(f'DROP TABLE IF EXISTS "{table}"')


PAIRS = [(writer, reader) for writer in ADAPTERS for reader in ADAPTERS if writer is not reader]


@pytest.mark.parametrize(
    ("writer", "reader"), PAIRS, ids=[f"{w.name}-to-{r.name}" for w, r in PAIRS]
)
async def test_one_adapter_writes_another_reads_updates_and_deletes(
    postgres_dsn: str,
    shared_table: str,
    writer: interop_adapters.Adapter,
    reader: interop_adapters.Adapter,
) -> None:
    """Sessions cross from one adapter to another unchanged, both ways, through every call.

    The writer creates the table its own way; the reader is bound to the same table name.
    """
    records = sessions()
    rich, plain, expired, other, long = records.values()
    async with (
        writer.open(postgres_dsn, shared_table, True) as write,
        reader.open(postgres_dsn, shared_table, False) as read,
    ):
        for record in records.values():
            await write.create(record)

        # Read back exactly: ids, user ids, times to the microsecond (as UTC), data.
        for record in records.values():
            assert await read.get(record.id) == record
        assert by_id(await read.list_user(USER)) == by_id([rich, plain, expired])
        assert await read.list_user(LONG_USER) == [long]
        assert await read.get(new_id()) is None

        # The reader updates; the writer sees the update.
        moved = datetime(2031, 8, 1, 0, 0, 0, 1, tzinfo=KATHMANDU)
        new_data = {"cart": [{"sku": "Ø-1", "qty": 2}], "flag": False, "pi": 3.141592653589793}
        assert await read.update(rich.id, expires_at=moved, data=new_data)
        assert await write.get(rich.id) == replace(rich, expires_at=moved, data=new_data)
        assert await read.update(plain.id, data={"only": "data 🧪"})
        assert await write.get(plain.id) == replace(plain, data={"only": "data 🧪"})
        later = datetime(2031, 9, 1, 23, 59, 59, 999999, tzinfo=ST_JOHNS)
        assert await read.update(other.id, expires_at=later)
        assert await write.get(other.id) == replace(other, expires_at=later)
        # ...and the other way round.
        assert await write.update(other.id, data={"back": ["again"]})
        assert await read.get(other.id) == replace(
            other, expires_at=later, data={"back": ["again"]}
        )

        # Expiry: the reader removes what the writer stored as expired, and nothing else.
        assert await read.delete_expired(NOW, 1000) == 1
        assert await write.get(expired.id) is None
        assert await write.delete_expired(NOW, 1000) == 0

        # Logout by the reader: gone for the writer, and no late refresh brings it back.
        assert await read.delete(rich.id)
        assert await write.get(rich.id) is None
        assert not await write.delete(rich.id)
        assert not await read.update(rich.id, expires_at=later)
        assert not await write.update(rich.id, data={"late": True})
        assert await read.get(rich.id) is None

        # Log out everywhere, across adapters.
        assert await read.delete_user(USER) == 1  # `plain` is the last one left
        assert await write.list_user(USER) == []
        assert await write.delete_user(OTHER_USER) == 1
        assert await read.get(other.id) is None
        assert await read.delete_user(LONG_USER) == 1
        assert await write.list_user(LONG_USER) == []


# --- One schema -------------------------------------------------------------------------------


@pytest.fixture
async def schemas(new_schema: Callable[[str], Awaitable[str]]) -> dict[str, str]:
    """A fresh PostgreSQL schema for the reference and for each adapter; all dropped after."""
    names = ["reference", *(adapter.name for adapter in ADAPTERS)]
    return {name: await new_schema(f"anchor_interop_{name}") for name in names}


async def test_every_adapter_creates_the_same_table(
    postgres_dsn: str, pg_admin: asyncpg.Connection, schemas: dict[str, str], tmp_path: Path
) -> None:
    """Each adapter's own table creation gives exactly the table of `create_table_sql`.

    Columns (names, order, types, lengths, precision, nullability, defaults), constraints,
    indexes (columns, method, uniqueness, predicate, names), the change-notification triggers
    (definitions and function body); no sequence or rule.
    """
    reference = schemas["reference"]
    for statement in create_table_sql(DEFAULT_TABLE_NAME, reference):
        await pg_admin.execute(statement)
    expected = await describe_table(pg_admin, reference, DEFAULT_TABLE_NAME)

    tables: dict[str, dict[str, Any]] = {}
    for adapter in ADAPTERS:
        await adapter.create_default(postgres_dsn, schemas[adapter.name], tmp_path)
        tables[adapter.name] = await describe_table(
            pg_admin, schemas[adapter.name], DEFAULT_TABLE_NAME
        )
    for adapter in ADAPTERS:
        assert tables[adapter.name] == expected, f"{adapter.name} ({adapter.how}) differs"

    # The shared names, whichever adapter made the table.
    assert {index["name"] for index in expected["indexes"]} == {
        f"{DEFAULT_TABLE_NAME}_pkey",
        index_name(DEFAULT_TABLE_NAME, "user_id"),
        index_name(DEFAULT_TABLE_NAME, "expires_at"),
    }
    assert [column["column_name"] for column in expected["columns"]] == [
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
    assert [trigger["name"] for trigger in expected["triggers"]] == [
        f"{DEFAULT_TABLE_NAME}_changed",
        f"{DEFAULT_TABLE_NAME}_ended",
    ]


def test_every_adapter_of_the_repository_is_in_the_matrix() -> None:
    """A new adapter package must join the interop matrix (one entry in `interop_adapters`)."""
    packages = Path(__file__).resolve().parent.parent / "packages"
    adapters = {
        path.name.removeprefix("anchor-")
        for path in packages.glob("anchor-*")
        if (path / "pyproject.toml").exists()
    }
    assert adapters == {adapter.name for adapter in ADAPTERS}
