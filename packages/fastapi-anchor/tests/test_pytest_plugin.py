"""The pytest plugin every pytest run loads: it imports nothing heavy until its fixture is used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("fastapi", "starlette", "fastapi_anchor", "hypothesis", "httpx")

UNUSED = f"""
import sys

def test_nothing_heavy_is_imported(request):
    assert request.config.pluginmanager.has_plugin("fastapi_anchor")
    assert [name for name in {HEAVY!r} if name in sys.modules] == []
"""

USED = """
import sys

def test_the_fixture_imports_the_helper(anchor_login):
    assert anchor_login.__name__ == "login_client"
    assert "fastapi_anchor.testing.clients" in sys.modules
"""


def run_pytest(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_sample.py").write_text(source)
    return subprocess.run(  # a fresh interpreter: this run has imported everything already
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_run_that_does_not_use_the_fixture_imports_nothing_heavy(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, UNUSED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_fixture_works_once_asked_for(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, USED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
