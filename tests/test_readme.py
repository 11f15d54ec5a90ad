"""README.md's quick start runs as written and behaves as the text says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

README = Path(__file__).parents[1] / "README.md"


def readme_quick_start() -> dict[str, Any]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match
    namespace: dict[str, Any] = {"__name__": "readme_quick_start"}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    return namespace


def test_quick_start_login_me_logout_replay() -> None:
    app = readme_quick_start()["app"]
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/me").status_code == 401
        credentials = {"username": "alice", "password": "x"}
        assert client.post("/login", json=credentials).json() == {"ok": True}
        assert client.get("/me").json() == {"user_id": "alice"}
        old = client.cookies["session"]
        assert client.post("/logout").json() == {"ok": True}
        client.cookies.clear()
        assert client.get("/me", headers={"cookie": f"session={old}"}).status_code == 401


def test_quick_start_logout_everywhere() -> None:
    app = readme_quick_start()["app"]
    with (
        TestClient(app, base_url="https://testserver") as laptop,
        TestClient(app, base_url="https://testserver") as phone,
    ):
        laptop.post("/login", json={"username": "alice", "password": "x"})
        phone.post("/login", json={"username": "alice", "password": "x"})
        assert phone.post("/logout-everywhere").json() == {"ended": 2}
        assert laptop.get("/me").status_code == 401


def test_quick_start_refuses_a_cross_site_login() -> None:
    app = readme_quick_start()["app"]
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/login",
            json={"username": "alice", "password": "x"},
            headers={"origin": "https://evil.example"},
        )
        assert response.status_code == 403
        assert "session" not in client.cookies
