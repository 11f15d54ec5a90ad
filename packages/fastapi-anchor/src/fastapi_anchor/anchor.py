"""`Anchor`: wires the cookie, the store and the session checks into FastAPI dependencies."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, NoReturn

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.openapi.models import APIKey, APIKeyIn
from fastapi.security.base import SecurityBase

from fastapi_anchor.cache import SessionCache
from fastapi_anchor.clock import Clock, utc_now
from fastapi_anchor.cookies import CookieSettings, CookieSigner, scope_cookie
from fastapi_anchor.csrf import OriginPolicy
from fastapi_anchor.devices import (
    HANDLE_LENGTH,
    DeviceSession,
    accepts_keyword,
    client_address,
    client_user_agent,
    handle_of,
)
from fastapi_anchor.exceptions import (
    ConfigurationError,
    SessionExists,
    StoreError,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.feed import ChangeFeed
from fastapi_anchor.logs import FailureLog
from fastapi_anchor.sockets import SocketRegistry, WebSocketSessionDependency
from fastapi_anchor.store import SessionRecord, SessionStore
from fastapi_anchor.tokens import hash_token, new_token

__all__ = [
    "REAUTHENTICATION_REQUIRED",
    "Anchor",
    "OptionalSessionDependency",
    "OriginCheck",
    "RecentSessionDependency",
    "SessionDependency",
]

_NO_SESSION_ID = "0" * 64  # a well-formed id no token hashes to in practice: for check()


class Anchor:
    """Server-side sessions for a FastAPI app.

    Use `anchor.session` as a dependency on routes that need a logged-in user (401 otherwise)
    and `anchor.optional_session` where a visitor may be anonymous. Call `login` to start a
    session and `logout` to end it: logout deletes the stored session, so its cookie stops
    working at once.

    Args:
        store: Where sessions live (`MemoryStore`, or a PostgreSQL adapter's store).
        secret_keys: Key or keys that sign the cookie, oldest first; the last signs. Each must
            be at least 32 characters. Append a key to rotate; remove one to retire it.
        cookie: Cookie attributes (secure, HttpOnly, SameSite=Lax by default).
        idle_timeout: A session unused this long expires. Activity slides the deadline, with at
            most one store write per half window.
        absolute_timeout: A session expires this long after login whatever its activity; None
            for no limit.
        trusted_origins: Origins other than the app's own allowed to send unsafe requests
            (POST, PUT, PATCH, DELETE) on session routes.
        clock: Returns the current aware time; inject one in tests.
        retry_after: Seconds put in `Retry-After` when the store is unavailable (503).
        failure_log: Where store failures are logged (the `fastapi_anchor` logger, at most one
            line per kind of failure a minute, by default).
        last_seen_resolution: How stale a session's `last_seen_at` may get: a request writes
            it only when it is older than this (in the same statement as a sliding refresh
            when one is due), so steady traffic still writes nothing. None never writes it.
        feed: The database's announcements of ended and changed sessions (PostgreSQL stores):
            they close this worker's sockets of sessions ended elsewhere and keep `cache`
            correct. Start it in the app's lifespan.
        cache: Keep recently read sessions in this worker (needs `feed`): served only while
            the feed is connected, dropped as soon as the database announces a change.

    Raises:
        ConfigurationError: A setting is invalid.
    """

    def __init__(
        self,
        store: SessionStore,
        *,
        secret_keys: str | Sequence[str],
        cookie: CookieSettings | None = None,
        idle_timeout: timedelta = timedelta(days=14),
        absolute_timeout: timedelta | None = timedelta(days=30),
        trusted_origins: Iterable[str] = (),
        clock: Clock = utc_now,
        retry_after: int = 1,
        failure_log: FailureLog | None = None,
        last_seen_resolution: timedelta | None = timedelta(hours=1),
        feed: ChangeFeed | None = None,
        cache: SessionCache | None = None,
    ) -> None:
        if idle_timeout <= timedelta(0):
            raise ConfigurationError(f"idle_timeout must be positive, got {idle_timeout}")
        if absolute_timeout is not None and absolute_timeout <= timedelta(0):
            raise ConfigurationError(f"absolute_timeout must be positive, got {absolute_timeout}")
        if retry_after < 0:
            raise ConfigurationError(f"retry_after must be >= 0, got {retry_after}")
        if cache is not None and feed is None:
            raise ConfigurationError(
                "a SessionCache needs a ChangeFeed: without one, a session ended by another "
                "worker would be served from the cache"
            )
        if last_seen_resolution is not None and last_seen_resolution <= timedelta(0):
            raise ConfigurationError(
                f"last_seen_resolution must be positive or None, got {last_seen_resolution}"
            )
        self.store = store
        self.cookie = cookie if cookie is not None else CookieSettings()
        self.signer = CookieSigner(secret_keys)
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.origin_policy = OriginPolicy(trusted_origins)
        self.clock = clock
        self.retry_after = retry_after
        self.failure_log = failure_log if failure_log is not None else FailureLog()
        self._refresh_margin = idle_timeout / 2
        self.last_seen_resolution = _supported_resolution(store, last_seen_resolution)
        self._deletes_with_keep = accepts_keyword(store.delete_user, "keep")
        self.session = SessionDependency(self)
        """Dependency giving the current `SessionRecord`; 401 without a valid session."""
        self.optional_session = OptionalSessionDependency(self)
        """Dependency giving the current `SessionRecord`, or None for an anonymous visitor."""
        self.sockets = SocketRegistry(self)
        """The open WebSockets of sessions, closed when their session ends."""
        self.feed = feed
        self.cache = cache
        if feed is not None:
            if cache is not None:
                feed.subscribe(cache)
            feed.subscribe(self.sockets)
        self.websocket_session = WebSocketSessionDependency(self)
        """WebSocket dependency giving the handshake's session; closes 1008 without one."""
        self.optional_websocket_session = WebSocketSessionDependency(self, optional=True)
        """WebSocket dependency giving the handshake's session, or None when anonymous."""
        self.check_origin = OriginCheck(self.origin_policy)
        """Dependency refusing a cross-site unsafe request (403) on a route without a session.

        Put it on the login route (`dependencies=[Depends(anchor.check_origin)]`): a
        cross-site form could otherwise log the victim into the attacker's account."""

    def dependency(
        self, *, check_origin: bool = True, sensitive: bool = False
    ) -> SessionDependency:
        """Return a required-session dependency; `check_origin=False` turns CSRF off for it.

        Turn the check off only for routes that browsers cannot be tricked into calling, such
        as an API used by non-browser clients with another credential check of its own.
        `sensitive=True` reads the session from the store on every request, never from the
        session cache (for routes that must see a logout elsewhere without any delay).
        """
        return SessionDependency(self, check_origin=check_origin, sensitive=sensitive)

    async def login(
        self,
        response: Response,
        user_id: str,
        data: Mapping[str, Any] | None = None,
        *,
        request: Request | None = None,
        ip_address: str | None = None,
        user_agent: str | None = None,
        persistent: bool = True,
    ) -> SessionRecord:
        """Start a new session for `user_id` and set its cookie on `response`.

        A new token is minted every time; any session cookie the request carried is ignored,
        so a session id chosen by someone else is never adopted. End the old session with
        `logout` first if the request had one.

        Pass the login `request` to record the client's address and user agent for the
        user's devices page (behind a proxy, see `fastapi_anchor.devices.client_address`);
        `ip_address` and `user_agent` given explicitly win over the request's.

        `persistent=False` ("remember me" unticked) sets a browser-session cookie, without
        Max-Age or Expires, which the browser drops when it closes; the server enforces the
        same deadlines either way, and refreshes keep the cookie's kind.
        """
        if not isinstance(user_id, str) or not user_id:
            raise TypeError(f"user_id must be a non-empty str, got {user_id!r}")
        if request is not None:
            ip_address = ip_address if ip_address is not None else client_address(request)
            user_agent = user_agent if user_agent is not None else client_user_agent(request)
        now = self.clock()
        expires_at = now + self.idle_timeout
        if self.absolute_timeout is not None:
            expires_at = min(expires_at, now + self.absolute_timeout)
        token, record = await self._create(
            lambda session_id: SessionRecord(
                session_id,
                user_id,
                now,
                expires_at,
                dict(data or {}),
                authenticated_at=now,
                last_seen_at=now,
                ip_address=ip_address,
                user_agent=user_agent,
                persistent=persistent,
            )
        )
        self._set_cookie(response, token, record, now)
        return record

    async def _create(self, build: Callable[[str], SessionRecord]) -> tuple[str, SessionRecord]:
        """Store `build(id)` for a new token's id; return the token and the stored record.

        A new token is drawn when the id is taken (256 random bits colliding: practically
        never), so no one else's session is ever reused.
        """
        for _attempt in range(3):
            token = new_token()
            record = build(hash_token(token))
            try:
                await self.store.create(record)
            except SessionExists:
                continue
            except StoreError as exc:
                self._store_failed(exc, "create")
            return token, record
        raise SessionExists("could not mint a unique session id")  # pragma: no cover

    async def logout(self, response: Response, session: SessionRecord | None) -> None:
        """End `session` (delete it from the store) and clear the cookie.

        Harmless when the session is None or already gone, so a second logout succeeds.
        """
        if session is not None:
            self._forget(session.id)
            try:
                await self.store.delete(session.id)
            except StoreError as exc:
                self._store_failed(exc, "delete")
            await self.sockets.end_session(session.id, "Logged out")
        self.clear_cookie(response)

    async def logout_all(self, user_id: str, *, keep: SessionRecord | None = None) -> int:
        """End every session of `user_id` ("log out everywhere"); return how many ended.

        With `keep` (the current session, after a password change say), every session of
        the user but that one ends.
        """
        kept = None if keep is None else keep.id
        if self.cache is not None:
            self.cache.discard_user(user_id, keep=kept)
        try:
            if kept is None:
                ended = await self.store.delete_user(user_id)
            elif self._deletes_with_keep:
                ended = await self.store.delete_user(user_id, keep=kept)
            else:
                ended = 0
                for record in await self.store.list_user(user_id):
                    if record.id != kept:
                        ended += await self.store.delete(record.id)
        except StoreError as exc:
            self._store_failed(exc, "delete_user")
        await self.sockets.end_user(user_id, "Logged out everywhere", keep=kept)
        return ended

    async def sessions(
        self, user_id: str, *, current: SessionRecord | None = None
    ) -> list[DeviceSession]:
        """Return the live sessions of `user_id`, most recently seen first, for a devices page.

        Each is described by its handle and login details, never its token or data; the one
        with the id of `current` is marked current.
        """
        current_id = None if current is None else current.id
        records = sorted(
            await self._live_sessions(user_id), key=lambda r: r.last_seen_at, reverse=True
        )
        return [DeviceSession.of(r, current=r.id == current_id) for r in records]

    async def revoke(self, user_id: str, handle: str) -> bool:
        """End the session of `user_id` with this handle (or whole stored id); say if it did.

        A handle of another user's session is answered exactly like an unknown one: False,
        and nothing ends.
        """
        if not isinstance(handle, str) or len(handle) < HANDLE_LENGTH:
            return False
        for record in await self._live_sessions(user_id):
            if handle in (record.id, handle_of(record.id)):
                self._forget(record.id)
                try:
                    ended = await self.store.delete(record.id)
                except StoreError as exc:
                    self._store_failed(exc, "delete")
                await self.sockets.end_session(record.id, "Session revoked")
                return ended
        return False

    def sessions_router(self, *, prefix: str = "/sessions") -> APIRouter:
        """Return mountable routes for a "your devices" page: list, end one, end the others.

        `app.include_router(anchor.sessions_router())`; see `fastapi_anchor.router`.
        """
        from fastapi_anchor.router import sessions_router

        return sessions_router(self, prefix=prefix)

    async def _live_sessions(self, user_id: str) -> list[SessionRecord]:
        try:
            records = await self.store.list_user(user_id)
        except StoreError as exc:
            self._store_failed(exc, "list_user")
        now = self.clock()
        return [r for r in records if self._is_live(r, now)]

    async def rotate(
        self, response: Response, session: SessionRecord, *, reauthenticated: bool = False
    ) -> SessionRecord:
        """Give `session` a new token and end the old one; return the new record.

        Call it when the session's privileges change (a role granted, a sudo mode entered):
        a token seen before the change stops working at once. Login already mints a new
        token. The new session keeps the user, data, `created_at`, `authenticated_at` (now,
        with `reauthenticated=True`), deadlines and cookie kind.

        Two rotations of one session at once leave exactly one of the new sessions live: the
        one that ended the old session keeps its new one, the other removes its own and sets
        no cookie. A session that ended meanwhile (logout) is not brought back: 401.
        """
        now = self.clock()
        changes: dict[str, Any] = {"last_seen_at": now}
        if reauthenticated:
            changes["authenticated_at"] = now
        token, record = await self._create(
            lambda session_id: replace(session, id=session_id, **changes)
        )
        self._forget(session.id)
        try:
            ended_old = await self.store.delete(session.id)
        except StoreError as exc:
            await self._discard(record.id)
            self._store_failed(exc, "delete")
        if not ended_old:  # rotated or logged out by another request: keep one session only
            await self._discard(record.id)
            raise _not_authenticated()
        await self.sockets.end_session(session.id, "Session rotated")
        self._set_cookie(response, token, record, now)
        return record

    async def reauthenticated(self, response: Response, session: SessionRecord) -> SessionRecord:
        """Record that the user just proved their credentials again; rotate the token.

        Call it after checking the password on a "confirm your password" form: routes behind
        `recent_session(...)` pass again for their `max_age`.
        """
        return await self.rotate(response, session, reauthenticated=True)

    async def credentials_changed(
        self, response: Response, session: SessionRecord
    ) -> SessionRecord:
        """After a password (or email) change: end every other session, rotate this one.

        Returns the new current session, re-authenticated now (the user just proved the
        new credentials). Store the new credentials first.
        """
        await self.logout_all(session.user_id, keep=session)
        return await self.rotate(response, session, reauthenticated=True)

    def recent_session(self, max_age: timedelta) -> RecentSessionDependency:
        """Return a dependency passing only sessions whose credentials were proved recently.

        The session must have been authenticated (login or `reauthenticated`) within
        `max_age`, else 403 with the reason `reauthentication_required` in the body and the
        `X-Anchor-Reason` header, so a front end knows to ask for the password. Measured from
        `authenticated_at`, never from `created_at`, and always read from the store.
        """
        if max_age <= timedelta(0):
            raise ConfigurationError(f"max_age must be positive, got {max_age}")
        return RecentSessionDependency(self, max_age)

    def _forget(self, session_id: str) -> None:
        """Drop a session this worker ends or changes from its cache, before the store call."""
        if self.cache is not None:
            self.cache.discard(session_id)

    async def _discard(self, session_id: str) -> None:
        """Best effort: remove a session this request created and will not hand out."""
        try:
            await self.store.delete(session_id)
        except StoreError as exc:
            self.failure_log.record(exc, "delete")

    async def update_data(self, session: SessionRecord, data: Mapping[str, Any]) -> SessionRecord:
        """Replace the data of `session`; 401 if it has ended meanwhile."""
        self._forget(session.id)
        try:
            updated = await self.store.update(session.id, data=data)
        except StoreError as exc:
            self._store_failed(exc, "update")
        if not updated:
            raise _not_authenticated()
        return replace(session, data=dict(data))

    async def cleanup(self, *, batch_size: int = 1000) -> int:
        """Delete expired sessions in batches of `batch_size`; return how many were deleted.

        Safe to run while the app serves. Raises `StoreUnavailable` if the store is down.
        """
        now = self.clock()
        total = 0
        while True:
            deleted = await self.store.delete_expired(now, batch_size)
            total += deleted
            if deleted < batch_size:
                return total

    def clear_cookie(self, response: Response) -> None:
        """Add a Set-Cookie that deletes the session cookie, repeating its attributes."""
        self.cookie.delete_from(response)

    async def authenticate(
        self,
        request: Request,
        response: Response,
        *,
        check_origin: bool = True,
        fresh: bool = False,
    ) -> SessionRecord | None:
        """Return the request's live session, or None if it has no valid one.

        The hot path of every session dependency: the signature is checked before the store
        is asked, the store is asked once (or the cache, unless `fresh`), and it is written to
        only for a sliding refresh or a due last-seen time.

        Raises:
            HTTPException: 403 for an unsafe cross-site request, 503 if the store is down.
        """
        value = scope_cookie(request.scope, self.cookie.name)
        if value is None:
            return None
        if check_origin and not self.origin_policy.allows(request):
            raise _cross_site()
        verified = self.signer.unsign(value)
        if verified is None:
            return None
        token, signed_with_newest_key = verified
        session_id = hash_token(token)
        cache = self.cache
        record = None if cache is None or fresh else cache.get(session_id)
        if record is None:
            generation = 0 if cache is None else cache.generation()
            try:
                record = await self.store.get(session_id)
            except StoreError as exc:
                self._store_failed(exc, "get")
            if cache is not None and record is not None:
                cache.fill(record, generation)
        now = self.clock()
        if record is None or record.id != session_id or not self._is_live(record, now):
            return None
        refresh = record.expires_at - now < self._refresh_margin
        expires_at = self._extended_deadline(record, now) if refresh else None
        resolution = self.last_seen_resolution
        seen = resolution is not None and now - record.last_seen_at >= resolution
        if expires_at is not None or seen:
            record = await self._touch(record, now, expires_at)
            if record is None:
                return None
        if refresh or not signed_with_newest_key:
            self._set_cookie(response, token, record, now)
        return record

    def deadline(self, record: SessionRecord) -> datetime:
        """When `record` ends unless used: its idle deadline, or the absolute one if sooner."""
        if self.absolute_timeout is None:
            return record.expires_at
        return min(record.expires_at, record.created_at + self.absolute_timeout)

    def is_live(self, record: SessionRecord) -> bool:
        """Whether `record` has not yet expired (idle or absolute) by the clock."""
        return self._is_live(record, self.clock())

    def _is_live(self, record: SessionRecord, now: datetime) -> bool:
        if now >= record.expires_at:
            return False
        return self.absolute_timeout is None or now < record.created_at + self.absolute_timeout

    def _extended_deadline(self, record: SessionRecord, now: datetime) -> datetime | None:
        """The idle deadline a sliding refresh sets now, or None if it would not move."""
        expires_at = now + self.idle_timeout
        if self.absolute_timeout is not None:
            expires_at = min(expires_at, record.created_at + self.absolute_timeout)
        return expires_at if expires_at > record.expires_at else None

    async def _touch(
        self, record: SessionRecord, now: datetime, expires_at: datetime | None
    ) -> SessionRecord | None:
        """Write a sliding refresh and/or the last-seen time in one update; None if gone."""
        seen = self.last_seen_resolution is not None
        try:
            if seen:
                updated = await self.store.update(
                    record.id, expires_at=expires_at, last_seen_at=now
                )
            else:
                updated = await self.store.update(record.id, expires_at=expires_at)
        except StoreError as exc:
            self._store_failed(exc, "update")
        if not updated:  # logged out meanwhile: never resurrect
            self._forget(record.id)
            return None
        record = replace(
            record,
            expires_at=expires_at or record.expires_at,
            last_seen_at=now if seen else record.last_seen_at,
        )
        if self.cache is not None:
            self.cache.put(record)
        return record

    def _set_cookie(
        self, response: Response, token: str, record: SessionRecord, now: datetime
    ) -> None:
        if not record.persistent:  # a browser-session cookie: no Max-Age, no Expires
            self.cookie.set_on(response, self.signer.sign(token), max_age=None)
            return
        max_age = self.cookie.max_age
        if max_age is None:
            max_age = max(1, math.ceil((self.deadline(record) - now).total_seconds()))
        self.cookie.set_on(response, self.signer.sign(token), max_age=max_age)

    async def check(self) -> None:
        """Fail fast if the store cannot serve: call it in the app's lifespan.

        Asks the store for one (absent) session, so a missing table, an unreachable database
        or a refused login surfaces at start-up instead of on the first request. The failure
        is logged like any other.

        Raises:
            TableMissing: The sessions table does not exist (the message says how to create it).
            StoreUnavailable: The store cannot answer now.
            StoreRejected: The database refused the call (privileges, schema drift).
        """
        try:
            await self.store.get(_NO_SESSION_ID)
        except StoreError as exc:
            self.failure_log.record(exc, "check")
            raise

    def _store_failed(self, exc: StoreError, operation: str) -> NoReturn:
        self.failure_log.record(exc, operation)
        raise_store_failure(exc, self.retry_after)


def _supported_resolution(store: SessionStore, resolution: timedelta | None) -> timedelta | None:
    """`resolution`, or None if the store's `update` cannot record a last-seen time."""
    if resolution is None or accepts_keyword(store.update, "last_seen_at"):
        return resolution
    warnings.warn(
        f"{type(store).__name__}.update takes no last_seen_at: last-seen times are not recorded",
        RuntimeWarning,
        stacklevel=3,
    )
    return None


def raise_store_failure(exc: StoreError, retry_after: int) -> NoReturn:
    """Answer a store failure: 503 if the store is unavailable, else re-raise it (a 500).

    A missing table gets no `Retry-After`: waiting does not create it.
    """
    if isinstance(exc, TableMissing):
        raise HTTPException(503, detail="Session store unavailable") from exc
    if isinstance(exc, StoreUnavailable):
        raise HTTPException(
            503,
            detail="Session store unavailable, try again shortly",
            headers={"Retry-After": str(retry_after)},
        ) from exc
    raise exc


def _cross_site() -> HTTPException:
    return HTTPException(403, detail="Cross-site request refused (origin not allowed)")


def _not_authenticated() -> HTTPException:
    return HTTPException(401, detail="Not authenticated", headers={"WWW-Authenticate": "Cookie"})


class _CookieScheme(SecurityBase):
    def __init__(self, anchor: Anchor, *, check_origin: bool) -> None:
        self.anchor = anchor
        self.check_origin = check_origin
        self.model = APIKey(
            **{"in": APIKeyIn.cookie},  # type: ignore[arg-type]
            name=anchor.cookie.name,
            description="Signed session cookie set by the login route.",
        )
        self.scheme_name = "AnchorSession"


class SessionDependency(_CookieScheme):
    """FastAPI dependency giving the current session; 401 if there is none.

    Shown in OpenAPI as a cookie security scheme. Use `Depends(anchor.session)`.
    """

    def __init__(
        self, anchor: Anchor, *, check_origin: bool = True, sensitive: bool = False
    ) -> None:
        super().__init__(anchor, check_origin=check_origin)
        self.sensitive = sensitive

    async def __call__(self, request: Request, response: Response) -> SessionRecord:
        """Return the live session of the request or raise 401 (403 cross-site, 503 store)."""
        record = await self.anchor.authenticate(
            request, response, check_origin=self.check_origin, fresh=self.sensitive
        )
        if record is None:
            raise _not_authenticated()
        return record


REAUTHENTICATION_REQUIRED = "reauthentication_required"
"""The reason `recent_session` gives with its 403, in the body and `X-Anchor-Reason`."""


class RecentSessionDependency(_CookieScheme):
    """FastAPI dependency giving the current session if its credentials were proved recently.

    401 without a session; 403 with reason `reauthentication_required` when the last proof
    (login or re-authentication) is older than `max_age`. Make it with `anchor.recent_session`.
    """

    def __init__(self, anchor: Anchor, max_age: timedelta) -> None:
        super().__init__(anchor, check_origin=True)
        self.max_age = max_age

    async def __call__(self, request: Request, response: Response) -> SessionRecord:
        """Return the live, recently authenticated session of the request, or raise."""
        record = await self.anchor.authenticate(request, response, fresh=True)
        if record is None:
            raise _not_authenticated()
        if self.anchor.clock() - record.authenticated_at > self.max_age:
            raise HTTPException(
                403,
                detail={
                    "reason": REAUTHENTICATION_REQUIRED,
                    "message": "Confirm your credentials to continue",
                    "max_age_seconds": int(self.max_age.total_seconds()),
                },
                headers={"X-Anchor-Reason": REAUTHENTICATION_REQUIRED},
            )
        return record


class OriginCheck:
    """FastAPI dependency: 403 for an unsafe cross-site request, session or not."""

    def __init__(self, policy: OriginPolicy) -> None:
        self.policy = policy

    async def __call__(self, request: Request) -> None:
        """Refuse the request unless it is safe or comes from the app's own or a trusted origin."""
        if not self.policy.allows(request):
            raise _cross_site()


class OptionalSessionDependency(_CookieScheme):
    """FastAPI dependency giving the current session, or None for an anonymous visitor."""

    def __init__(self, anchor: Anchor, *, check_origin: bool = True) -> None:
        super().__init__(anchor, check_origin=check_origin)

    async def __call__(self, request: Request, response: Response) -> SessionRecord | None:
        """Return the live session of the request, or None (403 cross-site, 503 store)."""
        return await self.anchor.authenticate(request, response, check_origin=self.check_origin)
