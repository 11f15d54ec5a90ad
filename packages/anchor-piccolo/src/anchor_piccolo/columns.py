"""Column types that give the shared table exactly the schema the other adapters create."""

from __future__ import annotations

from piccolo.columns import Varchar

__all__ = ["RequiredVarchar"]

_NULL_DEFAULT = " DEFAULT null"


class RequiredVarchar(Varchar):
    """A `Varchar` whose DDL has no `DEFAULT` clause when its default is None.

    Piccolo writes `DEFAULT null` for `Varchar(default=None)`, which PostgreSQL stores as the
    column default `NULL::character varying`; the shared schema has no default on its varchar
    columns. So an insert must give a value for a NOT NULL one (`id`, `user_id`), and leaving
    out a nullable one (`ip_address`, `user_agent`) stores NULL.
    """

    @property
    def ddl(self) -> str:
        """The column's clause in CREATE TABLE / ADD COLUMN, without a null default."""
        ddl = super().ddl
        if self.default is None and ddl.endswith(_NULL_DEFAULT):
            return ddl[: -len(_NULL_DEFAULT)]
        return ddl
