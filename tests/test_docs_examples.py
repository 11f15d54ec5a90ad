"""Every ```python block of README.md, docs/ and the package READMEs runs as written.

A block may be preceded by a marker comment:
- `<!-- docs-test: skip (why) -->` for a fragment that cannot run alone (keep these few);
- `<!-- docs-test: postgres -->` for a block that needs PostgreSQL: its DSN
  `postgresql://user:pass@localhost/db` (or `postgresql+asyncpg://...`) is swapped for the test
  database's.
A block that defines a FastAPI `app` also has its lifespan run (startup and shutdown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

ROOT = Path(__file__).parents[1]
PLACEHOLDER_DSN = "postgresql://user:pass@localhost/db"
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"<!-- docs-test: (skip|postgres)\b[^>]*-->\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    code: str
    mark: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted(ROOT.glob("packages/*/README.md")),
    ]


def blocks() -> list[Block]:
    found = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.search(before)
            line = text.count("\n", 0, match.start()) + 2
            found.append(Block(path, line, match.group(1), marker.group(1) if marker else None))
    return found


ALL_BLOCKS = blocks()


def test_there_are_blocks_and_few_fragments() -> None:
    assert len(ALL_BLOCKS) >= 10
    skipped = [b.id for b in ALL_BLOCKS if b.mark == "skip"]
    assert len(skipped) <= max(3, len(ALL_BLOCKS) // 10), skipped


def _run(block: Block, code: str) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_example_{block.line}"}
    exec(compile(code, block.id, "exec"), namespace)
    app = namespace.get("app")
    if isinstance(app, FastAPI):
        with TestClient(app, base_url="https://testserver") as client:
            assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.mark is None], ids=lambda b: b.id)
def test_block_runs(block: Block) -> None:
    _run(block, block.code)


@pytest.mark.parametrize(
    "block", [b for b in ALL_BLOCKS if b.mark == "postgres"], ids=lambda b: b.id
)
def test_postgres_block_runs(block: Block, postgres_dsn: str) -> None:
    assert PLACEHOLDER_DSN.split("//")[1] in block.code, "postgres blocks use the placeholder DSN"
    test_dsn = postgres_dsn.split("://", 1)[1]
    code = block.code.replace(PLACEHOLDER_DSN.split("://", 1)[1], test_dsn)
    _run(block, code)
