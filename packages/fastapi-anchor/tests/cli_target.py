"""An application module for the CLI tests: an Anchor on a MemoryStore with a movable clock."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import FastAPI

from fastapi_anchor import Anchor, MemoryStore

NOW = [datetime(2030, 1, 1, tzinfo=timezone.utc)]
store = MemoryStore()
anchor = Anchor(store, secret_keys="cli-test-secret-0123456789-0123456789", clock=lambda: NOW[0])


def make_anchor() -> Anchor:
    return anchor


not_an_anchor = 42
app = FastAPI()  # the uvicorn habit: --app naming the web app rather than its Anchor


def needs_arguments(database_url: str) -> Anchor:
    return anchor
