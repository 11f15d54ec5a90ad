"""Code blocks of the original README (tests/seed/README-0.1.1.md, kept verbatim)."""

from __future__ import annotations

import re
from pathlib import Path

SEED_README = Path(__file__).parent / "seed" / "README-0.1.1.md"


def seed_block(heading: str) -> str:
    """Return the first ```python block under the `## heading` section, exactly as written."""
    text = SEED_README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block under {heading!r}"
    return match.group(1)
