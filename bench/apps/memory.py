"""The memory store scenario: `Anchor(MemoryStore())`, loaded with the benchmark's sessions."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from bench.apps import settings
from bench.apps.anchored import anchored_app
from fastapi_anchor import MemoryStore, SessionRecord
from fastapi_anchor.tokens import hash_token

store = MemoryStore(max_sessions=2_000_000)


def read_spec() -> dict[str, Any]:
    with open(settings.SESSIONS, encoding="utf-8") as file:
        return dict(json.load(file))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    spec = read_spec()  # at start-up, before serving: blocking is fine
    created_at = datetime.fromisoformat(spec["created_at"])
    expires_at = datetime.fromisoformat(spec["expires_at"])
    for session in spec["sessions"]:
        record = SessionRecord(
            hash_token(session["token"]), session["user_id"], created_at, expires_at, {}
        )
        await store.create(record)
    for number in range(spec["filler"]):  # the other rows of the table size
        filler = SessionRecord(
            hash_token(secrets.token_urlsafe(32)), f"user-{number}", created_at, expires_at, {}
        )
        await store.create(filler)
    yield


app = anchored_app(store, lifespan)
