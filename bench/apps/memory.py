"""`Anchor(MemoryStore())`, holding the benchmark's sessions among as many as a table size."""

from __future__ import annotations

import json
import secrets
from datetime import datetime

from bench.apps import settings
from bench.apps.anchored import anchored_app
from fastapi_anchor import MemoryStore, SessionRecord
from fastapi_anchor.tokens import hash_token

store = MemoryStore(max_sessions=2_000_000)


async def fill() -> None:
    with open(settings.SESSIONS, encoding="utf-8") as file:  # noqa: ASYNC230 (before serving)
        spec = json.load(file)
    created, expires = (datetime.fromisoformat(spec[k]) for k in ("created_at", "expires_at"))
    tokens = [(s["token"], s["user_id"]) for s in spec["sessions"]]
    tokens += [(secrets.token_urlsafe(32), f"user-{n}") for n in range(spec["filler"])]
    for token, user_id in tokens:
        await store.create(SessionRecord(hash_token(token), user_id, created, expires, {}))


app = anchored_app(store, fill)
