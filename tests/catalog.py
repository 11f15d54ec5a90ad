"""`describe_table`: a table as PostgreSQL's catalogs hold it, to compare two tables exactly.

Every adapter must create the shared sessions table exactly as `create_table_sql` does; the
tests create it both ways in two schemas and compare the descriptions.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, index_name, quote_table

COLUMNS_SQL = """
SELECT column_name, ordinal_position, data_type, character_maximum_length, datetime_precision,
       is_nullable, column_default, is_identity, is_generated, collation_name
FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2
ORDER BY ordinal_position
"""

INDEXES_SQL = """
SELECT i.relname AS name, ix.indisunique AS is_unique, ix.indisprimary AS is_primary,
       am.amname AS method, pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
       array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
             ORDER BY k.n) AS columns
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = $1 AND t.relname = $2
ORDER BY i.relname
"""

# pg_indexes gives each index's definition; the schema name is the only expected difference.
INDEXDEFS_SQL = """
SELECT indexname, replace(indexdef, quote_ident($1) || '.', '') AS definition
FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname
"""

CONSTRAINTS_SQL = """
SELECT c.conname AS name, c.contype AS kind, pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = $1 AND t.relname = $2
ORDER BY c.conname
"""

# Objects that come with the table: sequences its columns own, triggers, rules.
ATTACHED_SQL = """
SELECT 'sequence' AS kind, s.relname AS name FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
WHERE d.refobjid = $1::regclass
UNION ALL
SELECT 'trigger', tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal
UNION ALL
SELECT 'rule', rulename FROM pg_rewrite WHERE ev_class = $1::regclass
ORDER BY 1, 2
"""

# Each trigger's definition and its function's body, the schema name removed.
TRIGGERS_SQL = """
SELECT t.tgname AS name,
       replace(pg_get_triggerdef(t.oid), quote_ident($1) || '.', '') AS definition,
       p.proname AS function, p.prosrc AS body
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE n.nspname = $1 AND c.relname = $2 AND NOT t.tgisinternal
ORDER BY t.tgname
"""


async def describe_table(conn: asyncpg.Connection, schema: str, table: str) -> dict[str, Any]:
    """Everything about `schema`.`table` that an adapter could get wrong: columns in order
    (type, length, precision, nullability, default, identity, collation), indexes (method,
    columns, uniqueness, predicate, definition), constraints, and what comes with the table
    (owned sequences, triggers with their definitions and function bodies, rules)."""
    return {
        "columns": [dict(row) for row in await conn.fetch(COLUMNS_SQL, schema, table)],
        "indexes": [dict(row) for row in await conn.fetch(INDEXES_SQL, schema, table)],
        "index definitions": [dict(row) for row in await conn.fetch(INDEXDEFS_SQL, schema, table)],
        "constraints": [dict(row) for row in await conn.fetch(CONSTRAINTS_SQL, schema, table)],
        "attached": [dict(row) for row in await conn.fetch(ATTACHED_SQL, f'"{schema}"."{table}"')],
        "triggers": [dict(row) for row in await conn.fetch(TRIGGERS_SQL, schema, table)],
    }


def schema_1_sql(table: str = DEFAULT_TABLE_NAME, schema: str | None = None) -> list[str]:
    """The shared table as the first release of every adapter created it (five columns, no
    trigger): what applications hold before the upgrade to schema 2."""
    name = quote_table(table, schema)
    return [
        f"CREATE TABLE {name} (\n"
        "    id          varchar(64)  PRIMARY KEY,\n"
        "    user_id     varchar(255) NOT NULL,\n"
        "    data        jsonb        NOT NULL DEFAULT '{}',\n"
        "    created_at  timestamptz  NOT NULL,\n"
        "    expires_at  timestamptz  NOT NULL\n"
        ")",
        f'CREATE INDEX "{index_name(table, "user_id")}" ON {name} (user_id)',
        f'CREATE INDEX "{index_name(table, "expires_at")}" ON {name} (expires_at)',
    ]
