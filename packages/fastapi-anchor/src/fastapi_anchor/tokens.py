"""Session tokens: minted from `secrets`, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["TOKEN_BYTES", "hash_token", "new_token"]

TOKEN_BYTES = 32
"""Random bytes in a token (256 bits)."""


def new_token() -> str:
    """Return a new URL-safe session token of `TOKEN_BYTES` random bytes."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Return the store id of `token`: the lowercase hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(token.encode()).hexdigest()
