"""pytest plugin of fastapi-anchor (entry point `pytest11`).

It gives real assertion diffs in the conformance suite, and the opt-in `anchor_login` fixture.

pytest rewrites `assert` statements only in test modules and in modules registered before
they are imported; this registers the suite's modules, and imports nothing of them.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

import fastapi_anchor.testing as _testing

pytest.register_assert_rewrite(
    *(
        f"{_testing.__name__}.{module.name}"
        for module in pkgutil.iter_modules(_testing.__path__)
        if module.name != "plugin"
    )
)


@pytest.fixture
def anchor_login() -> Callable[..., Any]:
    """`anchor_login(client, anchor, "alice", {"role": "admin"})` logs a `TestClient` in.

    The fixture form of `fastapi_anchor.testing.login_client`; see there.
    """
    from fastapi_anchor.testing.clients import login_client

    return login_client
