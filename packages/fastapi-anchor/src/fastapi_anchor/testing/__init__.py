"""The conformance suite every `SessionStore` must pass (needs `fastapi-anchor[testing]`).

    from fastapi_anchor.testing import SessionStoreSuite

    class TestMyStore(SessionStoreSuite[MyStore]):
        @pytest.fixture
        async def store(self):
            yield MyStore(...)   # fresh and empty for every test

`login_client` / `async_login_client` log a test client in as any user (see `clients`);
`session_app` and `https_client` test a store over HTTP through `Anchor` (see `app`).

The suite is imported on first use, so that `from fastapi_anchor.testing import login_client`
works where Hypothesis is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi_anchor.testing.app import https_client, session_app
    from fastapi_anchor.testing.clients import async_login_client, login_client
    from fastapi_anchor.testing.suite import SessionStoreSuite

__all__ = [
    "SessionStoreSuite",
    "async_login_client",
    "https_client",
    "login_client",
    "session_app",
]


def __getattr__(name: str) -> Any:
    if name in ("login_client", "async_login_client"):
        from fastapi_anchor.testing import clients

        return getattr(clients, name)
    if name in ("session_app", "https_client"):
        from fastapi_anchor.testing import app

        return getattr(app, name)
    if name != "SessionStoreSuite":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from fastapi_anchor.testing.suite import SessionStoreSuite
    except ModuleNotFoundError as exc:
        raise ImportError(
            f"the conformance suite needs {exc.name!r}: pip install 'fastapi-anchor[testing]'"
        ) from exc
    except AttributeError as exc:  # would be reported as "cannot import name"
        raise ImportError(f"importing the conformance suite failed: {exc}") from exc
    return SessionStoreSuite
