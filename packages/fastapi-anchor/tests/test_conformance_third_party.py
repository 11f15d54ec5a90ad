"""The suite as a third party meets it: a plain `pytest` run on one small test file.

The file is the complete store of docs/writing-a-store.md, run in a fresh process with warnings
as errors, so this also checks what a user gets: the anyio plugin, the entry point that rewrites
the suite's assertions, and the documented example itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).parents[3] / "docs" / "writing-a-store.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

BROKEN_SUBCLASS = """

class DeleteAlwaysTrue(DictStore):
    async def delete(self, session_id):
        await super().delete(session_id)
        return True


class TestDeleteAlwaysTrue(SessionStoreSuite[DeleteAlwaysTrue]):
    @pytest.fixture
    async def store(self):
        yield DeleteAlwaysTrue()
"""


def documented_store() -> str:
    blocks = [b for b in FENCE.findall(DOC.read_text(encoding="utf-8")) if "class DictStore" in b]
    assert len(blocks) == 1, "docs/writing-a-store.md must show one complete DictStore"
    return blocks[0]


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    directory = tmp_path_factory.mktemp("third_party")
    (directory / "test_dict_store.py").write_text(documented_store() + BROKEN_SUBCLASS)
    return run_pytest(directory, "-rfs", "-q")


def failures(output: str) -> set[tuple[str, str]]:
    """(class, test) of each FAILED line of the short summary."""
    return set(re.findall(r"^FAILED test_dict_store\.py::(\w+)::(\w+)", output, re.MULTILINE))


def test_the_documented_store_passes_the_whole_suite(
    run: subprocess.CompletedProcess[str],
) -> None:
    output = run.stdout + run.stderr
    assert not {f for f in failures(output) if f[0] == "TestDictStore"}, output
    assert not re.search(r"^ERROR", output, re.MULTILINE), output
    skipped = "\n".join(re.findall(r"^SKIPPED .*", output, re.MULTILINE))
    for reason in ("TestDictStore.can_be_unavailable", "TestDictStore.can_miss_table"):
        assert reason in skipped, skipped
    assert "does not implement the optional CountsExpired" in skipped, skipped


def test_a_broken_subclass_fails_with_the_rule_and_a_real_assertion_diff(
    run: subprocess.CompletedProcess[str],
) -> None:
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    failed = failures(output)
    assert ("TestDeleteAlwaysTrue", "test_deleting_twice_is_not_an_error") in failed, output
    assert {cls for cls, _ in failed} == {"TestDeleteAlwaysTrue"}, output
    assert "AssertionError: second delete must return False" in output, output
    # The entry point made pytest rewrite the suite's asserts: the compared values are shown.
    assert "assert True is False" in output, output


def test_the_suite_counts_every_rule(run: subprocess.CompletedProcess[str]) -> None:
    summary = run.stdout.strip().splitlines()[-1]
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped)", summary)}
    assert sum(counts.values()) // 2 >= 44, summary  # two classes
    assert counts["skipped"] == 6, summary  # the three optional rules, in both classes
