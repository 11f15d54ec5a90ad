"""anchor-sqlalchemy: the FastAPI Anchor session store on SQLAlchemy 2 async Core.

`SQLAlchemyStore` keeps sessions in the shared `anchor_sessions` table through an `AsyncEngine`
(PostgreSQL with asyncpg in production, SQLite with aiosqlite in development). `sessions_table`
puts that table on the application's own `MetaData`, so Alembic autogenerate sees it;
`anchor_sqlalchemy.migrations` has what a revision calls to create its trigger or to upgrade a
table of an earlier version.
"""

from anchor_sqlalchemy.store import SQLAlchemyStore
from anchor_sqlalchemy.table import sessions_table

__version__ = "0.2.0"

__all__ = ["SQLAlchemyStore", "__version__", "sessions_table"]
