"""Cookie names match exactly: only space and tab around a name or value are trimmed.

Starlette decodes headers as latin-1, and `str.strip()` also removes bytes like `\\xa0` and
`\\x85`. A sibling subdomain can plant `\\xa0__Host-session=...`; matching it to `__Host-session`
would let it pass for a cookie that only this exact host could have set.
"""

from __future__ import annotations

import pytest

from fastapi_anchor import Anchor, CookieSettings, MemoryStore
from fastapi_anchor.cookies import read_cookie
from fastapi_anchor.testing import https_client, session_app

from anchor_support import SECRET

pytestmark = pytest.mark.anyio

NAME = "__Host-session"
HOSTILE = ["\xa0", "\x85", "\x0b", "\x0c", "\r", "\x1c", "\x1f"]


@pytest.mark.parametrize("byte", HOSTILE, ids=repr)
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_look_alike_name_is_not_matched(byte: str, where: str) -> None:
    name = byte + NAME if where == "before" else NAME + byte
    assert read_cookie([f"{name}=v"], NAME) is None
    assert read_cookie([f"a=1; {name}=v; b=2"], NAME) is None


@pytest.mark.parametrize("byte", HOSTILE, ids=repr)
def test_a_value_is_not_trimmed_of_other_bytes(byte: str) -> None:
    assert read_cookie([f"{NAME}={byte}v{byte}"], NAME) == f"{byte}v{byte}"


def test_space_and_tab_around_name_and_value_are_trimmed() -> None:
    assert read_cookie([f" \t{NAME} \t= \tv\t "], NAME) == "v"
    assert read_cookie([f"a=1;\t{NAME}=v ;b=2"], NAME) == "v"


def test_a_look_alike_does_not_hide_a_duplicate() -> None:
    """The real cookie next to a planted look-alike still counts once, and is read."""
    assert read_cookie([f"\xa0{NAME}=planted; {NAME}=real"], NAME) == "real"


@pytest.fixture
def anchor() -> Anchor:
    return Anchor(MemoryStore(), secret_keys=SECRET, cookie=CookieSettings(name=NAME))


async def _valid_cookie(anchor: Anchor) -> str:
    async with https_client(session_app(anchor)) as client:
        assert (await client.post("/login", params={"user": "alice"})).status_code == 200
        value = client.cookies[NAME]
        assert (await client.get("/me", headers={"cookie": f"{NAME}={value}"})).status_code == 200
        return value


@pytest.mark.parametrize("byte", HOSTILE, ids=repr)
@pytest.mark.parametrize("where", ["before", "after"])
async def test_a_look_alike_cookie_is_401_over_http(anchor: Anchor, byte: str, where: str) -> None:
    value = await _valid_cookie(anchor)
    name = byte + NAME if where == "before" else NAME + byte
    raw = f"{name}={value}".encode("latin-1")
    async with https_client(session_app(anchor)) as client:
        response = await client.get("/me", headers=[(b"cookie", raw)])
        assert response.status_code == 401
        assert (await client.get("/maybe", headers=[(b"cookie", raw)])).json() == {"user": None}


@pytest.mark.parametrize("byte", HOSTILE, ids=repr)
async def test_a_value_padded_with_other_bytes_is_401_over_http(anchor: Anchor, byte: str) -> None:
    value = await _valid_cookie(anchor)
    raw = f"{NAME}={byte}{value}".encode("latin-1")
    async with https_client(session_app(anchor)) as client:
        assert (await client.get("/me", headers=[(b"cookie", raw)])).status_code == 401


async def test_space_and_tab_padding_is_accepted_over_http(anchor: Anchor) -> None:
    value = await _valid_cookie(anchor)
    raw = f"theme=dark;\t {NAME} = {value}\t; lang=en".encode("latin-1")
    async with https_client(session_app(anchor)) as client:
        assert (await client.get("/me", headers=[(b"cookie", raw)])).status_code == 200
