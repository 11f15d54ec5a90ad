"""Cookie settings validation, signing with key rotation, and strict cookie reading."""

from __future__ import annotations

import string

import pytest

from fastapi_anchor import Anchor, ConfigurationError, CookieSettings, CookieSigner, MemoryStore
from fastapi_anchor.cookies import MAX_COOKIE_BYTES, read_cookie, weak_key_reason
from fastapi_anchor.frontends.implementations import InsecureSecretWarning, SessionCookie

OLD = "old-key-0123456789-0123456789-0123456789"
NEW = "new-key-0123456789-0123456789-0123456789"


def test_defaults_are_secure_httponly_lax() -> None:
    settings = CookieSettings()
    assert (settings.name, settings.secure, settings.httponly, settings.samesite) == (
        "session",
        True,
        True,
        "lax",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "__Host-s", "secure": False}, "__Host-"),
        ({"name": "__Host-s", "path": "/app"}, "__Host-"),
        ({"name": "__Host-s", "domain": "example.com"}, "__Host-"),
        ({"name": "__Secure-s", "secure": False}, "__Secure-"),
        ({"samesite": "none", "secure": False}, "samesite='none' requires secure"),
        ({"samesite": "sometimes"}, "samesite must be"),
        ({"name": ""}, "invalid cookie name"),
        ({"name": "a;b"}, "invalid cookie name"),
        ({"max_age": 0}, "max_age must be positive"),
        ({"path": "app"}, "must start with '/'"),
    ],
)
def test_bad_cookie_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CookieSettings(**kwargs)  # type: ignore[arg-type]


def test_host_prefixed_cookie_is_accepted_when_valid() -> None:
    assert CookieSettings(name="__Host-session").name == "__Host-session"


@pytest.mark.parametrize("keys", ["", "short", [], ["x" * 40, "tiny"]])
def test_empty_or_short_secret_is_refused(keys: str | list[str]) -> None:
    with pytest.raises(ConfigurationError):
        CookieSigner(keys)


def test_sign_and_unsign_round_trip() -> None:
    signer = CookieSigner(NEW)
    assert signer.unsign(signer.sign("tok")) == ("tok", True)


def test_older_key_still_verifies_and_is_reported_as_old() -> None:
    old_cookie = CookieSigner(OLD).sign("tok")
    rotated = CookieSigner([OLD, NEW])
    assert rotated.unsign(old_cookie) == ("tok", False)
    assert rotated.unsign(rotated.sign("tok")) == ("tok", True)


def test_retired_key_no_longer_verifies() -> None:
    old_cookie = CookieSigner(OLD).sign("tok")
    assert CookieSigner(NEW).unsign(old_cookie) is None


def test_salt_separates_purposes() -> None:
    assert CookieSigner(NEW, salt="a").unsign(CookieSigner(NEW, salt="b").sign("t")) is None


def test_read_cookie_is_strict() -> None:
    assert read_cookie(["a=1; session=v; b=2"], "session") == "v"
    assert read_cookie(["session=v", "other=1"], "session") == "v"
    assert read_cookie(["session=v; session=v"], "session") is None
    assert read_cookie(["session=v", "session=w"], "session") is None
    assert read_cookie(["Session=v"], "session") is None
    assert read_cookie(["session="], "session") is None
    assert read_cookie(["sessionx=v"], "session") is None
    assert read_cookie([f"session={'v' * (MAX_COOKIE_BYTES + 1)}"], "session") is None
    assert read_cookie([], "session") is None


def test_only_the_canonical_signature_verifies() -> None:
    """Base64 decoders skip stray bytes and unused bits; the signature must match exactly."""
    signer = CookieSigner(NEW)
    value = signer.sign("tok")
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    # 32 bytes fill 42 characters and 4 bits of the 43rd; its 2 low bits are unused.
    same_bits = alphabet[alphabet.index(value[-1]) + 1]
    for altered in (value + "\x80", value + "=", value + "!", value[:-1] + same_bits):
        assert signer.unsign(altered) is None, altered
    assert signer.unsign(value) == ("tok", True)


@pytest.mark.parametrize(
    "key",
    [
        "replace-me-with-32-or-more-random-chars",
        "change-me-to-32-or-more-random-characters",
        "a key of 32 characters or more ...",
        " Replace-Me-With-32-Or-More-Random-Chars ",
        b"change-me-to-32-or-more-random-characters",
        "x" * 32,
        "0" * 64,
        b"\x00" * 32,
    ],
    ids=repr,
)
def test_example_and_repeated_character_keys_are_refused(key: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match="secret key refused") as refused:
        CookieSigner(key)
    assert "secrets.token_urlsafe(32)" in str(refused.value)  # how to make a good one
    with pytest.raises(ConfigurationError, match="secret key refused"):
        CookieSigner([NEW, key])  # an old key in the rotation list too
    with pytest.raises(ConfigurationError, match="secret key refused"):
        Anchor(MemoryStore(), secret_keys=key)  # type: ignore[arg-type]


def test_keys_that_merely_repeat_a_pattern_are_accepted() -> None:
    CookieSigner("ab" * 16)
    CookieSigner(OLD)
    assert weak_key_reason(OLD) is None
    assert weak_key_reason("your-secret") is not None  # the original README's key


def test_the_compatibility_cookie_warns_about_a_weak_key_and_still_works() -> None:
    with pytest.warns(InsecureSecretWarning, match="guessed"):
        cookie = SessionCookie(
            cookie_name="cookie",
            identifier="general_verifier",
            auto_error=True,
            secret_key="replace-me-with-32-or-more-random-chars",
        )
    assert cookie.signer.unsign(cookie.signer.sign("tok")) == ("tok", True)
