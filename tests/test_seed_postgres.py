"""The original README's PostgreSQL section runs unchanged on anchor-sqlalchemy.

The snippet is the seed's, read from tests/seed/README-0.1.1.md (pinned by hash); only its
placeholder DSN is swapped for this run's database when it runs. The app around it is built
like the seed's quick start, on the PostgreSQL backend: login, /me, logout, and the old cookie
refused.
"""

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy import func, select, text

from fastapi_anchor.backends.implementations import BackendError, PostgresSessionData
from fastapi_anchor.frontends.implementations import CookieParameters, SessionCookie
from fastapi_anchor.session_verifier import SessionVerifier

from seed_readme import seed_block

SEED_SECTION = "PostgreSQL backend (real logout in production)"
SEED_DSN = '"postgresql+asyncpg://user:pass@localhost/db"'
SEED_POSTGRES_SNIPPET = seed_block(SEED_SECTION)  # verbatim: tests/seed is pinned by hash
SECRET = "seed-postgres-test-secret-0123456789abcdef"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def sqlalchemy_url(dsn: str) -> str:
    scheme, rest = dsn.split("://", 1)
    assert scheme in ("postgres", "postgresql"), dsn
    return f"postgresql+asyncpg://{rest}"


@pytest.fixture
async def seed(postgres_dsn: str) -> AsyncIterator[dict[str, Any]]:
    """The namespace the seed's snippet leaves behind, its table created (and dropped after)."""
    assert SEED_POSTGRES_SNIPPET.count(SEED_DSN) == 1
    code = SEED_POSTGRES_SNIPPET.replace(SEED_DSN, repr(sqlalchemy_url(postgres_dsn)))
    namespace: dict[str, Any] = {"__name__": "seed_postgres"}
    exec(compile(code, "seed_postgres", "exec"), namespace)
    engine, metadata = namespace["engine"], namespace["metadata"]
    async with engine.begin() as conn:
        # The seed's table has the default name: start from a fresh one whatever ran before.
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    try:
        yield namespace
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()


def build_app(backend: Any) -> FastAPI:
    """The seed's quick start, with the PostgreSQL backend and its session payload."""
    cookie_params = CookieParameters(max_age=14 * 24 * 3600, httponly=True, secure=False)
    cookie = SessionCookie(
        cookie_name="session",
        identifier="auth",
        auto_error=True,
        secret_key=SECRET,
        cookie_params=cookie_params,
    )

    class AuthVerifier(SessionVerifier[UUID, PostgresSessionData]):
        def __init__(self) -> None:
            self._identifier = "auth"
            self._backend = backend
            self._auto_error = True
            self._auth_http_exception = HTTPException(status_code=401, detail="Invalid session")

        @property
        def identifier(self) -> str:
            return self._identifier

        @property
        def backend(self) -> Any:
            return self._backend

        @property
        def auto_error(self) -> bool:
            return self._auto_error

        @property
        def auth_http_exception(self) -> HTTPException:
            return self._auth_http_exception

        def verify_session(self, model: PostgresSessionData) -> bool:
            return True

    verifier = AuthVerifier()
    app = FastAPI()

    @app.post("/login")
    async def login(user_id: str, response: Response) -> dict[str, bool]:
        session_id = uuid4()
        now = datetime.now(timezone.utc)
        data = PostgresSessionData(
            user_id=user_id, created_at=now, expires_at=now + timedelta(hours=1)
        )
        await backend.create(session_id, data)
        cookie.attach_to_response(response, session_id)
        return {"ok": True}

    @app.get("/me", dependencies=[Depends(cookie)])
    async def me(session_data: PostgresSessionData = Depends(verifier)) -> PostgresSessionData:
        return session_data

    @app.post("/logout")
    async def logout(response: Response, session_id: UUID = Depends(cookie)) -> dict[str, bool]:
        await backend.delete(session_id)
        cookie.delete_from_response(response)
        return {"ok": True}

    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")


async def stored_rows(seed: dict[str, Any]) -> list[Any]:
    table = seed["sessions_table"]
    async with seed["engine"].connect() as conn:
        return list((await conn.execute(select(table.c.id, table.c.user_id, table.c.data))).all())


def live_session(user_id: str = "alice", **extra: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {"user_id": user_id, "created_at": now, "expires_at": now + timedelta(hours=1), **extra}


def test_the_snippet_is_the_seeds_postgres_section() -> None:
    assert SEED_POSTGRES_SNIPPET.startswith("from sqlalchemy import MetaData\n")
    assert "backend = PostgresBackend(async_session_factory, table=sessions_table)" in (
        SEED_POSTGRES_SNIPPET
    )
    assert SEED_POSTGRES_SNIPPET.count(SEED_DSN) == 1


@pytest.mark.anyio
async def test_login_me_logout_then_the_old_cookie_is_401(seed: dict[str, Any]) -> None:
    async with client_for(build_app(seed["backend"])) as client:
        login = await client.post("/login", params={"user_id": "alice"})
        assert login.status_code == 200
        assert login.json() == {"ok": True}
        old = client.cookies["session"]

        me = await client.get("/me")
        assert me.status_code == 200
        body = me.json()
        assert body["user_id"] == "alice"
        assert datetime.fromisoformat(body["expires_at"]) > datetime.now(timezone.utc)
        assert len(await stored_rows(seed)) == 1

        logout = await client.post("/logout")
        assert logout.status_code == 200
        assert await stored_rows(seed) == []  # logout deleted the row

        client.cookies.clear()
        replay = await client.get("/me", headers={"cookie": f"session={old}"})
        assert replay.status_code == 401
        assert replay.json() == {"detail": "Invalid session"}


@pytest.mark.anyio
async def test_the_row_id_is_the_sha256_of_the_session_id(seed: dict[str, Any]) -> None:
    backend = seed["backend"]
    session_id = uuid4()
    await backend.create(session_id, PostgresSessionData(**live_session()))
    [(row_id, user_id, data)] = await stored_rows(seed)
    assert row_id == hashlib.sha256(str(session_id).encode()).hexdigest()
    assert str(session_id) not in row_id
    assert (user_id, data) == ("alice", {})
    read = await backend.read(session_id)
    assert isinstance(read, PostgresSessionData)
    assert read.user_id == "alice"


@pytest.mark.anyio
async def test_creating_an_existing_id_fails(seed: dict[str, Any]) -> None:
    backend = seed["backend"]
    session_id = uuid4()
    await backend.create(session_id, PostgresSessionData(**live_session("alice")))
    with pytest.raises(BackendError):
        await backend.create(session_id, PostgresSessionData(**live_session("mallory")))
    read = await backend.read(session_id)
    assert read is not None
    assert read.user_id == "alice"


@pytest.mark.anyio
async def test_an_expired_session_reads_as_none(seed: dict[str, Any]) -> None:
    backend = seed["backend"]
    session_id = uuid4()
    past = datetime.now(timezone.utc) - timedelta(minutes=1)
    data = PostgresSessionData(
        user_id="alice", created_at=past - timedelta(hours=1), expires_at=past
    )
    await backend.create(session_id, data)
    assert await backend.read(session_id) is None
    assert len(await stored_rows(seed)) == 1  # expired, not deleted: cleanup is separate


@pytest.mark.anyio
async def test_delete_removes_the_row(seed: dict[str, Any]) -> None:
    backend = seed["backend"]
    kept, gone = uuid4(), uuid4()
    await backend.create(kept, PostgresSessionData(**live_session()))
    await backend.create(gone, PostgresSessionData(**live_session()))
    await backend.delete(gone)
    await backend.delete(gone)  # twice is harmless
    assert await backend.read(gone) is None
    assert await backend.read(kept) is not None
    table = seed["sessions_table"]
    async with seed["engine"].connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(table))).scalar()
    assert count == 1


class Profile(BaseModel):
    user_id: str
    created_at: datetime
    expires_at: datetime
    role: str
    teams: list[str]


@pytest.mark.anyio
async def test_a_model_of_ones_own_keeps_its_extra_fields_in_data(seed: dict[str, Any]) -> None:
    backend = seed["PostgresBackend"][UUID, Profile](
        seed["async_session_factory"], table=seed["sessions_table"]
    )
    session_id = uuid4()
    profile = Profile(**live_session("carol", role="admin", teams=["red", "blue"]))
    await backend.create(session_id, profile)
    [(_, user_id, data)] = await stored_rows(seed)
    assert (user_id, data) == ("carol", {"role": "admin", "teams": ["red", "blue"]})
    assert await backend.read(session_id) == profile


@pytest.mark.anyio
async def test_the_table_is_the_shared_one(seed: dict[str, Any]) -> None:
    async with seed["engine"].connect() as conn:
        columns = (
            await conn.execute(
                text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'anchor_sessions' ORDER BY ordinal_position"
                )
            )
        ).all()
    assert [tuple(c) for c in columns] == [
        ("id", "character varying"),
        ("user_id", "character varying"),
        ("data", "jsonb"),
        ("created_at", "timestamp with time zone"),
        ("expires_at", "timestamp with time zone"),
        ("authenticated_at", "timestamp with time zone"),
        ("last_seen_at", "timestamp with time zone"),
        ("ip_address", "character varying"),
        ("user_agent", "character varying"),
        ("persistent", "boolean"),
    ]
