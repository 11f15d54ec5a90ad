"""Load an application's `Anchor` or store from an import string, as uvicorn loads apps."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from starlette.applications import Starlette

from fastapi_anchor.anchor import Anchor
from fastapi_anchor.clock import utc_now
from fastapi_anchor.exceptions import ConfigurationError
from fastapi_anchor.store import SessionStore

__all__ = ["Target", "load_target", "opened"]

_STORE_METHODS = ("create", "get", "update", "delete", "delete_user", "list_user", "delete_expired")


@dataclass(frozen=True)
class Target:
    """A store to act on, and the clock that decides what has expired."""

    store: SessionStore
    clock: Callable[[], datetime]


def _is_store(value: object) -> bool:
    return all(callable(getattr(value, name, None)) for name in _STORE_METHODS)


async def load_target(import_string: str) -> Target:
    """Resolve `module:attribute` to an `Anchor` or a store (or a factory returning one).

    Raises:
        ConfigurationError: The string is malformed, the module or attribute is missing, the
            object is the web application (`module:app`, the uvicorn habit) or a function that
            needs arguments, or it is neither an `Anchor` nor a `SessionStore`.
    """
    module_name, sep, attribute = import_string.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(
            f"expected 'module:attribute' (like 'myapp.auth:anchor'), got {import_string!r}"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import module {module_name!r}: {exc}") from exc
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ConfigurationError(
                f"module {module_name!r} has no attribute {attribute!r}"
            ) from None
    if not isinstance(value, Anchor) and not _is_store(value) and callable(value):
        _check_factory(value, import_string, module)
        value = value()
        if inspect.isawaitable(value):
            value = await value
    if isinstance(value, Anchor):
        return Target(value.store, value.clock)
    if _is_store(value):
        return Target(value, utc_now)
    raise ConfigurationError(
        f"{import_string!r} is a {type(value).__name__}, not an Anchor or a SessionStore"
    )


def _check_factory(value: Any, import_string: str, module: ModuleType) -> None:
    """Refuse, before calling it, what is no factory: the ASGI app, a function needing arguments."""
    anchors = [
        f"{module.__name__}:{name}"
        for name, item in vars(module).items()
        if isinstance(item, Anchor)
    ]
    instead = (
        f"pass its Anchor instead, like --app {anchors[0]}"
        if anchors
        else "pass the Anchor (or store) it uses, like --app myapp.auth:anchor"
    )
    if isinstance(value, Starlette):
        raise ConfigurationError(
            f"{import_string!r} is the FastAPI application, not an Anchor: {instead}"
        )
    try:
        inspect.signature(value).bind()
    except TypeError:
        raise ConfigurationError(
            f"{import_string!r} cannot be called without arguments, so it is not a factory "
            f"of an Anchor or a store: {instead}"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): let the call decide
        pass


@asynccontextmanager
async def opened(store: SessionStore) -> AsyncIterator[SessionStore]:
    """Open a store that has `open()`/`close()` (a pool it owns) for the block, then close it."""
    open_ = getattr(store, "open", None)
    close = getattr(store, "close", None)
    if callable(open_):
        result = open_()
        if inspect.isawaitable(result):
            await result
    try:
        yield store
    finally:
        if callable(close):
            result = close()
            if inspect.isawaitable(result):
                await result
