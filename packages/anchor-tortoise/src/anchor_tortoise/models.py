"""The default sessions model: add `"anchor_tortoise.models"` to your Tortoise config.

It maps the shared table `anchor_sessions`. For another table name or a schema, build your own
class with `anchor_tortoise.sessions_table` in one of your model modules instead.
"""

from __future__ import annotations

from anchor_tortoise.factory import sessions_table

__all__ = ["AnchorSession"]

AnchorSession = sessions_table()
"""The model of the `anchor_sessions` table."""

__models__ = [AnchorSession]
