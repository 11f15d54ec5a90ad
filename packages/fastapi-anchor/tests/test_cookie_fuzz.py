"""Fuzzing the Cookie header: anything but the exact signed cookie is 401 with no store call."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from fastapi_anchor import Anchor
from fastapi_anchor.cookies import read_cookie
from fastapi_anchor.testing import session_app

from anchor_support import SECRET, CountingStore

# Header bytes as a client could send them: anything but CR, LF and NUL.
HEADER_BYTES = st.binary(max_size=300).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")
)


def mutations(valid: str) -> st.SearchStrategy[bytes]:
    raw = valid.encode()

    flips = st.tuples(st.integers(0, len(raw) - 1), st.integers(0x20, 0xFF)).filter(
        lambda t: raw[t[0]] != t[1]
    )
    return st.one_of(
        flips.map(lambda t: raw[: t[0]] + bytes([t[1]]) + raw[t[0] + 1 :]),
        st.integers(0, len(raw) - 1).map(lambda n: raw[:n]),
        st.tuples(HEADER_BYTES, HEADER_BYTES).map(lambda t: t[0] + raw + t[1]),
    )


def test_fuzzed_cookie_headers_never_authenticate_or_reach_the_store() -> None:
    store = CountingStore()
    anchor = Anchor(store, secret_keys=SECRET)
    with TestClient(session_app(anchor), base_url="https://testserver") as client:
        client.post("/login", params={"user": "alice"})
        valid = client.cookies["session"]
        client.cookies.clear()

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            value=st.one_of(HEADER_BYTES, mutations(valid)),
            name=st.sampled_from([b"session=", b"", b"Session=", b"__Host-session=", b"x=1; "]),
        )
        def check(value: bytes, name: bytes) -> None:
            header = name + value
            store.calls.clear()
            response = client.get("/me", headers=[(b"cookie", header)])
            parsed = read_cookie([header.decode("latin-1")], "session")
            if parsed == valid:
                assert response.status_code == 200
                assert response.json()["user"] == "alice"
            else:
                assert response.status_code == 401, header
                assert store.calls["get"] == 0, header

        check()
