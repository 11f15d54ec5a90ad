"""`sessions_table`: a Tortoise model of the shared sessions table, for any table name.

Tortoise binds a model to its table when the class is created, so a table name other than the
default needs a class of its own: call `sessions_table` in one of your model modules and list that
module in the Tortoise config instead of `anchor_tortoise.models`.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.fields.db_defaults import SqlDefault
from tortoise.indexes import Index
from tortoise.models import Model

from fastapi_anchor.store import MAX_IP_ADDRESS_LENGTH, MAX_USER_AGENT_LENGTH
from fastapi_anchor.toolkit import DEFAULT_TABLE_NAME, dump_data, index_name, load_data, quote_table

__all__ = ["sessions_table"]


def sessions_table(
    table: str = DEFAULT_TABLE_NAME,
    *,
    schema: str | None = None,
    name: str = "AnchorSession",
) -> type[Model]:
    """Return a new Tortoise model class of the shared sessions table.

    The columns, types, nullability, defaults and indexes are those of
    `fastapi_anchor.toolkit.create_table_sql` (schema 2), so `generate_schemas` and migrations
    create the table every other FastAPI Anchor adapter reads, all but its change-notification
    trigger, which Tortoise cannot express: `TortoiseStore.create_table()` (or a migration
    running the core's statements) adds it. Tortoise finds the class in a module listed under
    `"models"` in its config; assign it to a module-level name there.

    Args:
        table: Table name (a plain identifier).
        schema: PostgreSQL schema holding the table; None for the connection's search path.
        name: Class name, which is also the model's name in its Tortoise app. Give each
            sessions model in one app its own name.

    Raises:
        ValueError: `table` or `schema` is not a plain identifier.
    """
    quote_table(table, schema)  # validates both names
    meta_attrs: dict[str, object] = {
        "table": table,
        "indexes": (
            Index(fields=("user_id",), name=index_name(table, "user_id")),
            Index(fields=("expires_at",), name=index_name(table, "expires_at")),
        ),
    }
    if schema is not None:
        meta_attrs["schema"] = schema
    attrs: dict[str, object] = {
        "__module__": __name__,
        "__qualname__": name,
        "id": fields.CharField(max_length=64, primary_key=True),
        "user_id": fields.CharField(max_length=255),
        "data": fields.JSONField(
            encoder=dump_data, decoder=load_data, db_default=SqlDefault("'{}'")
        ),
        "created_at": fields.DatetimeField(),
        "expires_at": fields.DatetimeField(),
        "authenticated_at": fields.DatetimeField(null=True),
        "last_seen_at": fields.DatetimeField(null=True),
        "ip_address": fields.CharField(max_length=MAX_IP_ADDRESS_LENGTH, null=True),
        "user_agent": fields.CharField(max_length=MAX_USER_AGENT_LENGTH, null=True),
        "persistent": fields.BooleanField(default=True, db_default=SqlDefault("true")),
        "Meta": type("Meta", (), meta_attrs),
    }
    return type(name, (Model,), attrs)
