"""What a test needs and cannot have here: a skip on a developer's machine, a failure in CI.

Under `CI=true` every claim of the suite must be proved on every run, so a missing PostgreSQL,
superuser, TCP address, optional package or browser fails the test instead of skipping it.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """Whether this run is CI's (`CI=true`, as CI services set it)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str, reason: str) -> NoReturn:
    """Skip the calling test (or module) for want of `what`; fail it under `CI=true`."""
    if in_ci():
        pytest.fail(f"{what} is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"needs {what}: {reason}", allow_module_level=True)


def module(name: str, reason: str) -> ModuleType:
    """Import and return module `name`, or `missing(name, reason)`."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(name, f"{reason} ({exc})")
