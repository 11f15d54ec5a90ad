"""The session cookie: its attributes, its signature, and reading it from a request safely."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from itsdangerous import Signer
from itsdangerous.encoding import base64_encode

from fastapi_anchor.exceptions import ConfigurationError

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = [
    "MAX_COOKIE_BYTES",
    "MIN_SECRET_LENGTH",
    "PLACEHOLDER_KEYS",
    "CookieSettings",
    "CookieSigner",
    "read_cookie",
    "scope_cookie",
    "weak_key_reason",
]

MAX_COOKIE_BYTES = 4096
"""A cookie header value longer than this is refused unread."""

MIN_SECRET_LENGTH = 32
"""Shortest secret key `CookieSigner` accepts by default (characters)."""

KEY_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
"""Shell command that prints a good secret key; quoted in error messages."""

PLACEHOLDER_KEYS = frozenset(
    {
        "replace-me-with-32-or-more-random-chars",
        "change-me-to-32-or-more-random-characters",
        "a key of 32 characters or more ...",
        "your-secret",
    }
)
"""Example keys from this project's docs and READMEs, refused as keys: they are public."""

HOST_PREFIX = "__Host-"
_OWS = " \t"
SECURE_PREFIX = "__Secure-"


@dataclass(frozen=True, slots=True)
class CookieSettings:
    """Attributes of the session cookie.

    Args:
        name: Cookie name. A `__Host-` name requires `secure=True`, `path="/"` and no domain.
        path: Cookie path.
        domain: Cookie domain; None sends it to the exact host only.
        max_age: Seconds the browser keeps the cookie. None follows the session: the cookie
            lasts until the session's idle deadline (or absolute timeout, if sooner).
        secure: Send only over HTTPS (browsers also accept it on http://localhost).
        httponly: Hide the cookie from JavaScript.
        samesite: The SameSite attribute.

    Raises:
        ConfigurationError: The combination is one browsers reject or that cannot be secure.
    """

    name: str = "session"
    path: str = "/"
    domain: str | None = None
    max_age: int | None = None
    secure: bool = True
    httponly: bool = True
    samesite: Literal["lax", "strict", "none"] = "lax"

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in ' ;,=\t\r\n"'):
            raise ConfigurationError(f"invalid cookie name {self.name!r}")
        if self.samesite not in ("lax", "strict", "none"):
            raise ConfigurationError(
                f"samesite must be 'lax', 'strict' or 'none', got {self.samesite!r}"
            )
        if self.samesite == "none" and not self.secure:
            raise ConfigurationError("samesite='none' requires secure=True (browsers drop it)")
        if self.max_age is not None and self.max_age <= 0:
            raise ConfigurationError(f"max_age must be positive or None, got {self.max_age}")
        if not self.path.startswith("/"):
            raise ConfigurationError(f"cookie path must start with '/', got {self.path!r}")
        if self.name.startswith(HOST_PREFIX) and (
            not self.secure or self.path != "/" or self.domain is not None
        ):
            raise ConfigurationError(
                f"a {HOST_PREFIX} cookie needs secure=True, path='/' and domain=None "
                f"(got secure={self.secure}, path={self.path!r}, domain={self.domain!r})"
            )
        if self.name.startswith(SECURE_PREFIX) and not self.secure:
            raise ConfigurationError(f"a {SECURE_PREFIX} cookie needs secure=True")

    def set_on(self, response: Response, value: str, *, max_age: int | None) -> None:
        """Add a Set-Cookie for `value` with these attributes to `response`."""
        response.set_cookie(
            self.name,
            value,
            max_age=max_age,
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            httponly=self.httponly,
            samesite=self.samesite,
        )

    def delete_from(self, response: Response) -> None:
        """Add a Set-Cookie deleting the cookie, repeating name, path, domain and flags."""
        response.delete_cookie(
            self.name,
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            httponly=self.httponly,
            samesite=self.samesite,
        )


class CookieSigner:
    """Signs tokens with the newest of a list of secret keys and verifies with any of them.

    The list is ordered oldest first: append a new key to rotate, drop an old one to retire it
    (its cookies then fail). HMAC-SHA256 through itsdangerous, with a salt per purpose.

    Args:
        secret_keys: One key or a list, oldest first; the last one signs.
        salt: Separates signatures made for different purposes with the same keys.
        min_length: Shortest key accepted.
        refuse_weak: Refuse keys anyone can guess whatever their length (see
            `weak_key_reason`). Only the 0.1 compatibility layer turns this off, to warn instead.

    Raises:
        ConfigurationError: No key, a key shorter than `min_length`, or a weak key.
    """

    def __init__(
        self,
        secret_keys: str | bytes | Sequence[str | bytes],
        *,
        salt: str = "fastapi-anchor.session",
        min_length: int = MIN_SECRET_LENGTH,
        refuse_weak: bool = True,
    ) -> None:
        keys = [secret_keys] if isinstance(secret_keys, (str, bytes)) else list(secret_keys)
        if not keys:
            raise ConfigurationError("at least one secret key is required")
        for key in keys:
            if not isinstance(key, (str, bytes)):
                raise ConfigurationError(f"secret keys must be str or bytes, got {type(key)}")
            if len(key) < max(min_length, 1):
                raise ConfigurationError(
                    f"secret key too short: {len(key)} characters, need at least {min_length} "
                    f"(generate one with: {KEY_COMMAND})"
                )
            weakness = weak_key_reason(key) if refuse_weak else None
            if weakness is not None:
                raise ConfigurationError(
                    f"secret key refused: {weakness} (generate one with: {KEY_COMMAND})"
                )
        options = {"salt": salt, "digest_method": hashlib.sha256, "key_derivation": "hmac"}
        # Newest first: the common case verifies with one HMAC.
        self._signers = [Signer(key, **options) for key in reversed(keys)]  # type: ignore[arg-type]
        # Keyed once: itsdangerous derives the HMAC key again on every call, and a one-shot
        # HMAC sets the key up again; a copy of a keyed HMAC starts where the key left it.
        self._hmac_keys = [signer.derive_key() for signer in self._signers]
        self._macs = [hmac.new(key, digestmod=hashlib.sha256) for key in self._hmac_keys]

    def sign(self, token: str) -> str:
        """Return `token` signed with the newest key."""
        return self._signers[0].sign(token).decode()

    def unsign(self, value: str) -> tuple[str, bool] | None:
        """Verify a cookie value.

        The signature must be exactly the one we would write: base64 decoders tolerate stray
        characters and unused bits, so comparing decoded bytes would accept altered cookies.

        Returns:
            `(token, signed_with_newest_key)`, or None if the value is not a valid signature.
        """
        token, sep, signature = value.rpartition(".")
        if not sep or not token:
            return None
        try:
            token_bytes, signature_bytes = token.encode("ascii"), signature.encode("ascii")
        except UnicodeEncodeError:
            return None
        for index, keyed in enumerate(self._macs):
            mac = keyed.copy()
            mac.update(token_bytes)
            expected = base64_encode(mac.digest())
            if hmac.compare_digest(expected, signature_bytes):
                return token, index == 0
        return None


def weak_key_reason(key: str | bytes) -> str | None:
    """Say why `key` can be guessed whatever its length, or None if nothing is known against it.

    Catches the example keys of the docs (`PLACEHOLDER_KEYS`, copied into real apps more often
    than anyone would like) and keys of one repeated character. Not a strength meter: a key
    should come from `secrets`, which no check here can tell apart from a guessable one.
    """
    text = key.decode("latin-1") if isinstance(key, bytes) else key
    if text.strip().lower() in PLACEHOLDER_KEYS:
        return "it is an example key from the documentation, known to everyone"
    if text and text == text[0] * len(text):
        return f"it is one character repeated ({text[0]!r} x {len(text)})"
    return None


def scope_cookie(scope: Mapping[str, Any], name: str) -> str | None:
    """Return cookie `name` of an ASGI request or handshake, as `read_cookie` reads it.

    Reads the raw ASGI headers, decoded as Starlette decodes them, without building `Headers`
    (it runs on every request).
    """
    headers = [v.decode("latin-1") for k, v in scope["headers"] if k == b"cookie"]
    return read_cookie(headers, name)


def read_cookie(cookie_headers: Sequence[str], name: str) -> str | None:
    """Return the value of cookie `name` from raw `Cookie` header values.

    Stricter than a general cookie parser: None if the cookie is missing, empty, sent more
    than once (two values for one name cannot be told apart safely), or longer than
    `MAX_COOKIE_BYTES`. Names match exactly, case included; only space and tab around a name
    or value are trimmed (RFC 6265bis).
    """
    found: str | None = None
    for header in cookie_headers:
        if name not in header:
            continue
        for part in header.split(";"):
            key, sep, value = part.partition("=")
            # Not str.strip(): on latin-1 text it also drops bytes like \xa0 and \x85, so a
            # planted "\xa0__Host-session" would pass for the prefixed name.
            if not sep or key.strip(_OWS) != name:
                continue
            if found is not None:
                return None
            found = value.strip(_OWS)
    if not found or len(found) > MAX_COOKIE_BYTES:
        return None
    return found
