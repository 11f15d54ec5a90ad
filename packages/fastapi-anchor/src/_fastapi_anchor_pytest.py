"""pytest plugin of fastapi-anchor (entry point `pytest11`): loaded by every pytest run.

It registers the conformance suite's modules for assertion rewriting (real diffs on failure)
and the opt-in `anchor_login` fixture. It lives outside the `fastapi_anchor` package on
purpose: importing anything in that package imports FastAPI, a cost no test run that never
asks for the fixture should pay. Here only the suite's module names are read from disk.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

_TESTING = "fastapi_anchor.testing"


def _suite_modules() -> list[str]:
    """The modules of `fastapi_anchor.testing`, found without importing the package."""
    spec = find_spec("fastapi_anchor")  # a top-level package: located, not imported
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - broken install
        return []
    folders = [str(Path(folder, "testing")) for folder in spec.submodule_search_locations]
    return [f"{_TESTING}.{module.name}" for module in pkgutil.iter_modules(folders)]


pytest.register_assert_rewrite(_TESTING, *_suite_modules())


@pytest.fixture
def anchor_login() -> Callable[..., Any]:
    """`anchor_login(client, anchor, "alice", {"role": "admin"})` logs a `TestClient` in.

    The fixture form of `fastapi_anchor.testing.login_client`; see there.
    """
    from fastapi_anchor.testing.clients import login_client

    return login_client
