"""`python -m fastapi_anchor`: the command-line tool (needs `pip install fastapi-anchor[cli]`)."""

from __future__ import annotations

import sys


def main() -> None:
    """Run `fastapi_anchor.cli`, or explain how to install it."""
    try:
        from fastapi_anchor.cli import main as cli_main
    except ImportError as exc:  # typer or rich missing
        hint = "pip install 'fastapi-anchor[cli]'"
        sys.stderr.write(f"the fastapi-anchor command needs its extra: {hint} ({exc})\n")
        raise SystemExit(2) from exc
    cli_main()


if __name__ == "__main__":
    main()
