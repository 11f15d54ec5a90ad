"""anchor-tortoise: `TortoiseStore` under `RegisterTortoise`, its pool without the reset query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from tortoise.contrib.fastapi import RegisterTortoise

from anchor_tortoise import TortoiseStore, credentials_from_dsn, sessions_table, skip_reset
from bench.apps import settings
from bench.apps.anchored import anchored_app

Session = sessions_table(settings.TABLE, name="Session")
__models__ = [Session]  # this module is the Tortoise app's models module

size = settings.POOL_SIZE
credentials = credentials_from_dsn(settings.DSN, minsize=size, maxsize=size, reset=skip_reset)
config = {
    "connections": {"default": {"engine": "tortoise.backends.asyncpg", "credentials": credentials}},
    "apps": {"models": {"models": [__name__], "default_connection": "default"}},
}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with RegisterTortoise(app, config=config):
        yield


app = anchored_app(TortoiseStore(model=Session))
app.router.lifespan_context = lifespan
