"""A small FastAPI app on FastAPI Anchor's memory store: a login form and JSON session routes.

Run it with `hatch run example:serve`, then open http://127.0.0.1:8000 and log in as
alice/wonderland or bob/builder. Browsers accept the Secure session cookie on 127.0.0.1 and
localhost.

Set ANCHOR_DATABASE_URL (postgresql://...) to keep sessions in PostgreSQL through anchor-asyncpg
instead; with several workers, also set ANCHOR_SECRET_KEY so they all verify the same cookies.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from html import escape
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from fastapi_anchor import Anchor, MemoryStore, SessionRecord, SessionStore

# Demo accounts. A real app checks a password hash from its user table.
USERS = {"alice": "wonderland", "bob": "builder"}

DATABASE_URL = os.environ.get("ANCHOR_DATABASE_URL")


def make_store() -> SessionStore:
    if not DATABASE_URL:
        return MemoryStore()
    from anchor_asyncpg import AsyncpgStore

    return AsyncpgStore(DATABASE_URL, pool_options={"min_size": 1, "max_size": 5})


# Set ANCHOR_SECRET_KEY to keep sessions valid across restarts and workers; the memory store
# forgets them on restart anyway, so a fresh random key is fine for one process.
store = make_store()
anchor = Anchor(
    store,
    secret_keys=os.environ.get("ANCHOR_SECRET_KEY") or secrets.token_urlsafe(32),
    idle_timeout=timedelta(hours=8),
    absolute_timeout=timedelta(days=7),
)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Open the PostgreSQL store's pool and create its table (nothing to do for memory)."""
    if DATABASE_URL:
        await store.open()  # type: ignore[attr-defined]
        await store.create_table()  # type: ignore[attr-defined]
    yield
    if DATABASE_URL:
        await store.close()  # type: ignore[attr-defined]


app = FastAPI(title="FastAPI Anchor example", lifespan=lifespan)

if os.environ.get("ANCHOR_EXAMPLE_WORKER_HEADER"):
    # For the multi-worker test: say which worker process answered.

    @app.middleware("http")
    async def worker_header(request: Any, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response


CurrentSession = Annotated[SessionRecord, Depends(anchor.session)]
MaybeSession = Annotated[SessionRecord | None, Depends(anchor.optional_session)]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FastAPI Anchor example</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}
form,button{{margin:.5rem 0}} input{{display:block;margin:.25rem 0 .75rem;padding:.3rem}}
.error{{color:#b00}} li{{margin:.4rem 0}} li button{{margin:0 .5rem}}</style></head>
<body><h1>FastAPI Anchor</h1>{body}</body></html>"""

LOGIN_FORM = """<p>Log in as <code>alice</code> / <code>wonderland</code> or
<code>bob</code> / <code>builder</code>.</p>{error}
<form method="post" action="/login">
<label>User <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required>
</label><button type="submit">Log in</button></form>"""

ACCOUNT = """<p id="greeting">Logged in as <strong>{user}</strong>.</p>
<button id="logout" type="button">Log out</button>
<button id="logout-everywhere" type="button">Log out everywhere</button>
<h2>Your devices</h2><ul id="devices"><li>loading...</li></ul>
<button id="logout-others" type="button">Log out other devices</button>
<script>
async function send(method, path) {{
  await fetch(path, {{method}});
  location.reload();
}}
document.getElementById("logout").onclick = () => send("POST", "/logout");
document.getElementById("logout-everywhere").onclick = () => send("POST", "/logout-everywhere");
document.getElementById("logout-others").onclick = () => send("POST", "/sessions/logout-others");
fetch("/sessions").then(r => r.json()).then(devices => {{
  const list = document.getElementById("devices");
  list.replaceChildren(...devices.map(d => {{
    const item = document.createElement("li");  // textContent: the user agent is untrusted
    item.dataset.handle = d.handle;
    item.className = d.current ? "current" : "other";
    const seen = new Date(d.last_seen_at).toLocaleString();
    item.textContent = `${{d.user_agent || "unknown client"}} from ${{d.ip_address || "?"}}, ` +
      `last seen ${{seen}} `;
    if (d.current) {{
      item.append("(this device)");
    }} else {{
      const end = document.createElement("button");
      end.textContent = "End";
      end.onclick = () => send("DELETE", `/sessions/${{d.handle}}`);
      item.append(end);
    }}
    return item;
  }}));
}});
</script>"""


@app.get("/", response_class=HTMLResponse)
async def home(session: MaybeSession, error: str | None = None) -> str:
    """The login form, or the account page of the logged-in user."""
    if session is None:
        message = '<p class="error">Wrong user or password.</p>' if error else ""
        return PAGE.format(body=LOGIN_FORM.format(error=message))
    return PAGE.format(body=ACCOUNT.format(user=escape(session.user_id)))


@app.post("/login")
async def login(
    request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]
) -> RedirectResponse:
    """Check the form's credentials, start a session and go back to the home page."""
    expected = USERS.get(username)
    if expected is None or not hmac.compare_digest(password, expected):
        return RedirectResponse("/?error=1", status_code=303)
    response = RedirectResponse("/", status_code=303)
    await anchor.login(response, username, {"login_method": "password"}, request=request)
    return response


@app.get("/me")
async def me(session: CurrentSession) -> dict[str, Any]:
    """Who is logged in, and when the session ends if left idle."""
    return {
        "user_id": session.user_id,
        "created_at": session.created_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "data": dict(session.data),
    }


# GET /sessions (the user's devices), DELETE /sessions/{handle}, POST /sessions/logout-others.
app.include_router(anchor.sessions_router())


@app.post("/logout")
async def logout(response: Response, session: MaybeSession) -> dict[str, bool]:
    """End this session; harmless when already logged out."""
    await anchor.logout(response, session)
    return {"ok": True}


@app.post("/logout-everywhere")
async def logout_everywhere(response: Response, session: CurrentSession) -> dict[str, int]:
    """End every session of this user, on every device."""
    ended = await anchor.logout_all(session.user_id)
    anchor.clear_cookie(response)
    return {"ended": ended}
