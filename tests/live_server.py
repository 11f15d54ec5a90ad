"""Serve an ASGI app with uvicorn in a child process on 127.0.0.1, and stop it by its pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(
    app: str,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    host: str = "127.0.0.1",
    startup_timeout: float = 20.0,
) -> Iterator[str]:
    """Run `uvicorn app` until the block ends; yield its base URL (http://localhost:PORT)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # its own process group: workers are stopped with it
    )
    base_url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}")
            try:
                urllib.request.urlopen(f"{base_url}/openapi.json", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"uvicorn did not answer on {base_url}") from None
                time.sleep(0.1)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
