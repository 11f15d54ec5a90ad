"""The public API: `fastapi_anchor.__all__` is sorted and complete, and the seed's paths import."""

from __future__ import annotations

import importlib
import sys

import pytest

import fastapi_anchor


def test_all_is_sorted_and_every_name_exists() -> None:
    assert list(fastapi_anchor.__all__) == sorted(fastapi_anchor.__all__)
    for name in fastapi_anchor.__all__:
        assert hasattr(fastapi_anchor, name), name


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(fastapi_anchor).items()
        if not name.startswith("_") and not isinstance(value, type(sys))
    }
    assert public | {"__version__"} == set(fastapi_anchor.__all__)


def test_version() -> None:
    assert fastapi_anchor.__version__ == "0.2.0"


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("fastapi_anchor.backends.implementations", ["InMemoryBackend"]),
        ("fastapi_anchor.frontends.implementations", ["SessionCookie", "CookieParameters"]),
        ("fastapi_anchor.session_verifier", ["SessionVerifier"]),
        ("fastapi_anchor.backends.session_backend", ["SessionBackend", "BackendError"]),
        ("fastapi_anchor.frontends.session_frontend", ["SessionFrontend", "FrontendError"]),
    ],
)
def test_seed_import_paths(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert hasattr(imported, name), f"{module}.{name}"


def test_unknown_backend_name_is_an_attribute_error() -> None:
    implementations = importlib.import_module("fastapi_anchor.backends.implementations")
    with pytest.raises(AttributeError, match="NoSuchBackend"):
        _ = implementations.NoSuchBackend
