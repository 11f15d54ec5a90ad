"""What is particular to `AsyncpgStore`: the table, its options, its pool, its SQL plans."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
import asyncpg
import pytest

from anchor_asyncpg import AsyncpgStore
from fastapi_anchor.store import SessionRecord, StoreRejected, StoreUnavailable, TableMissing

pytestmark = pytest.mark.anyio

# The shared table (schema 2), as PostgreSQL describes it.
SHARED_COLUMNS = [
    ("id", "character varying", 64, "NO", None),
    ("user_id", "character varying", 255, "NO", None),
    ("data", "jsonb", None, "NO", "'{}'::jsonb"),
    ("created_at", "timestamp with time zone", None, "NO", None),
    ("expires_at", "timestamp with time zone", None, "NO", None),
    ("authenticated_at", "timestamp with time zone", None, "YES", None),
    ("last_seen_at", "timestamp with time zone", None, "YES", None),
    ("ip_address", "character varying", 45, "YES", None),
    ("user_agent", "character varying", 512, "YES", None),
    ("persistent", "boolean", None, "NO", "true"),
]


async def describe(conn: Any, table: str, schema: str = "public") -> dict[str, Any]:
    columns = await conn.fetch(
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
        "ORDER BY ordinal_position",
        schema,
        table,
    )
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 "
        "ORDER BY indexname",
        schema,
        table,
    )
    primary_key = await conn.fetchval(
        "SELECT array_agg(a.attname::text) FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisprimary",
        schema,
        table,
    )
    return {
        "columns": [tuple(row) for row in columns],
        "indexes": {row["indexname"]: row["indexdef"] for row in indexes},
        "primary_key": primary_key,
    }


async def test_create_table_makes_the_shared_schema(
    pool: asyncpg.Pool, new_store: Callable[..., Any]
) -> None:
    """Columns, types, nullability, defaults, primary key and indexes of ARCHITECTURE.md."""
    async with new_store() as store:
        name = store.table.strip('"')
        described = await describe(pool, name)
    assert described["columns"] == SHARED_COLUMNS
    assert described["primary_key"] == ["id"]
    assert described["indexes"] == {
        f"{name}_pkey": f"CREATE UNIQUE INDEX {name}_pkey ON public.{name} USING btree (id)",
        f"{name}_user_id_idx": (
            f"CREATE INDEX {name}_user_id_idx ON public.{name} USING btree (user_id)"
        ),
        f"{name}_expires_at_idx": (
            f"CREATE INDEX {name}_expires_at_idx ON public.{name} USING btree (expires_at)"
        ),
    }


async def test_create_table_is_idempotent_and_safe_from_many_workers(
    make_pool: Callable[..., Any], new_store: Callable[..., Any], make_record: Any
) -> None:
    """Calling it again, or from several processes at once, neither fails nor loses rows."""
    async with new_store() as store:
        record = make_record()
        await store.create(record)
        await store.create_table()
        table = store.table.strip('"')
        # Four "workers", each with a pool of its own, create a new table at the same moment.
        fresh = f"anchor_sessions_{secrets.token_hex(4)}"
        async with (
            make_pool(max_size=1) as a,
            make_pool(max_size=1) as b,
            make_pool(max_size=1) as c,
        ):
            workers = [AsyncpgStore(p, table=fresh) for p in (a, b, c, a)]
            try:
                async with anyio.create_task_group() as group:
                    for worker in workers:
                        group.start_soon(worker.create_table)
            finally:
                await a.execute(f'DROP TABLE IF EXISTS "{fresh}"')
        assert await store.get(record.id) == record
        assert table != fresh


async def test_schema_option_puts_the_table_in_that_schema(
    pool: asyncpg.Pool, new_store: Callable[..., Any], make_record: Any
) -> None:
    schema = f"auth_{secrets.token_hex(4)}"
    await pool.execute(f'CREATE SCHEMA "{schema}"')
    try:
        async with new_store(schema=schema, table="anchor_sessions") as store:
            assert store.table == f'"{schema}"."anchor_sessions"'
            record = make_record()
            await store.create(record)
            assert await store.get(record.id) == record
            described = await describe(pool, "anchor_sessions", schema)
            assert described["columns"] == SHARED_COLUMNS
            assert set(described["indexes"]) == {
                "anchor_sessions_pkey",
                "anchor_sessions_user_id_idx",
                "anchor_sessions_expires_at_idx",
            }
    finally:
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.parametrize(
    "options",
    [
        {"table": 'sessions"; DROP TABLE users; --'},
        {"table": "1sessions"},
        {"table": ""},
        {"schema": "auth.x"},
        {"timeout": 0},
        {"timeout": -1.5},
        {"pool_options": {"max_size": 3}},  # only for a pool the store creates
    ],
)
async def test_bad_options_are_refused_at_construction(
    pool: asyncpg.Pool, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (the messages differ per option)
        AsyncpgStore(pool, **options)


async def test_pool_must_be_a_pool_or_a_dsn() -> None:
    with pytest.raises(TypeError, match=r"asyncpg\.Pool or a DSN"):
        AsyncpgStore(42)  # type: ignore[arg-type]


async def test_json_codec_of_the_application_does_not_matter(
    make_pool: Callable[..., Any], store_on: Callable[..., Any], make_record: Any
) -> None:
    """An app that decodes jsonb to dicts on its connections: the store still round-trips.

    The store sends text cast to jsonb and selects `data::text`, so it never meets the codec.
    """

    async def with_json_codec(conn: asyncpg.Connection) -> None:
        for kind in ("json", "jsonb"):
            await conn.set_type_codec(
                kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )

    async with make_pool(init=with_json_codec) as pool, store_on(pool) as store:
        record = make_record(data={"cart": [1, 2], "name": "Zoë"})
        await store.create(record)
        assert await store.get(record.id) == record
        assert await store.update(record.id, data={"cart": []}) is True
        assert (await store.list_user(record.user_id))[0].data == {"cart": []}
        stored = await pool.fetchval(f"SELECT data FROM {store.table} WHERE id = $1", record.id)
        assert stored == {"cart": []}  # a JSON object in the column, not a JSON string


async def test_store_given_a_dsn_owns_its_pool(postgres_dsn: str, make_record: Any) -> None:
    """Created on first use, closed by `close`; after that 503 until `open` again."""
    store = AsyncpgStore(postgres_dsn, pool_options={"min_size": 1, "max_size": 2})
    assert store.owns_pool
    assert store.pool is None
    try:
        await store.create_table()
        assert isinstance(store.pool, asyncpg.Pool)
        record = make_record()
        await store.create(record)
        pool = store.pool
        await store.close()
        assert store.pool is None
        assert pool.is_closing()
        with pytest.raises(StoreUnavailable, match="closed"):
            await store.get(record.id)
        async with store:
            assert await store.get(record.id) == record
        assert store.pool is None
        await store.open()
        assert await store.delete(record.id) is True
    finally:
        if store.pool is not None:
            await store.pool.execute(f"DROP TABLE IF EXISTS {store.table}")
        await store.close()


async def test_store_given_a_pool_leaves_it_open(pool: asyncpg.Pool) -> None:
    store = AsyncpgStore(pool)
    assert not store.owns_pool
    async with store:
        assert store.pool is pool
    assert not pool.is_closing()
    assert await pool.fetchval("SELECT 1") == 1


async def test_missing_table_says_how_to_create_it(pool: asyncpg.Pool) -> None:
    """A store used before `create_table`: TableMissing (a 503) naming the fix, not a 500."""
    store = AsyncpgStore(pool, table=f"missing_{secrets.token_hex(4)}")
    with pytest.raises(TableMissing, match=r"create_table\(\)") as raised:
        await store.get("0" * 64)
    assert isinstance(raised.value.__cause__, asyncpg.UndefinedTableError)
    store = AsyncpgStore(pool, schema=f"missing_{secrets.token_hex(4)}")
    with pytest.raises(TableMissing):
        await store.delete_user("alice")


async def test_argument_of_the_wrong_type_is_not_an_outage(new_store: Callable[..., Any]) -> None:
    async with new_store() as store:
        with pytest.raises(StoreRejected, match="expected str") as caught:
            await store.get(42)
    assert isinstance(caught.value.__cause__, asyncpg.DataError)


async def test_delete_expired_goes_oldest_first_in_batches_through_the_index(
    pool: asyncpg.Pool, new_store: Callable[..., Any], make_record: Callable[..., SessionRecord]
) -> None:
    async with new_store() as store:
        base = make_record()
        name = store.table.strip('"')
        # 3000 live rows and 50 expired ones: the index is worth using.
        await pool.execute(
            f"INSERT INTO {store.table} (id, user_id, created_at, expires_at) "
            "SELECT md5(g::text) || md5(g::text), 'u' || (g % 100), $1, "
            "$2::timestamptz + g * interval '1 s' "
            "FROM generate_series(1, 3050) AS g",
            base.created_at,
            base.created_at - timedelta(seconds=50),
        )
        await pool.execute(f"ANALYZE {store.table}")
        now = base.created_at
        plan = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {store._sql.delete_expired}", now, 20)
        assert f'"Index Name": "{name}_expires_at_idx"' in plan
        oldest = await pool.fetchval(f"SELECT min(expires_at) FROM {store.table}")
        assert await store.count_expired(now) == 50
        assert await store.delete_expired(now, 20) == 20
        assert await store.count_expired(now) == 30
        assert await pool.fetchval(f"SELECT min(expires_at) FROM {store.table}") == (
            oldest + timedelta(seconds=20)
        )
        assert await store.delete_expired(now, 20) == 20
        assert await store.delete_expired(now, 20) == 10
        assert await store.delete_expired(now, 20) == 0
        assert await pool.fetchval(f"SELECT count(*) FROM {store.table}") == 3000


async def test_concurrent_cleaners_share_the_work(
    pool: asyncpg.Pool, new_store: Callable[..., Any], make_record: Callable[..., SessionRecord]
) -> None:
    """Two cleaners at once delete every expired row exactly once between them."""
    async with new_store() as store:
        expired = [make_record(f"u{i}") for i in range(40)]
        for record in expired:
            await store.create(record)
        now = expired[0].expires_at
        counts: list[int] = []

        async def clean() -> None:
            while deleted := await store.delete_expired(now, 3):
                counts.append(deleted)

        async with anyio.create_task_group() as group:
            group.start_soon(clean)
            group.start_soon(clean)
        assert sum(counts) == 40
        assert await pool.fetchval(f"SELECT count(*) FROM {store.table}") == 0


def test_public_names() -> None:
    """The public API, pinned (ruff keeps `__all__` sorted)."""
    import anchor_asyncpg

    assert set(anchor_asyncpg.__all__) == {
        "AsyncpgStore",
        "__version__",
        "skip_reset",
    }
    for name in anchor_asyncpg.__all__:
        assert hasattr(anchor_asyncpg, name)
    assert anchor_asyncpg.__version__ == "0.2.0"
