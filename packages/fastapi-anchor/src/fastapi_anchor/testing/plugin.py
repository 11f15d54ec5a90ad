"""pytest plugin of fastapi-anchor (entry point `pytest11`): real assertion diffs in the suite.

pytest rewrites `assert` statements only in test modules and in modules registered before
they are imported; this registers the suite's modules, and imports nothing of them.
"""

from __future__ import annotations

import pkgutil

import pytest

import fastapi_anchor.testing as _testing

pytest.register_assert_rewrite(
    *(
        f"{_testing.__name__}.{module.name}"
        for module in pkgutil.iter_modules(_testing.__path__)
        if module.name != "plugin"
    )
)
