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

from fastapi import (
    Depends,
    FastAPI,
    Form,
    HTTPException,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from fastapi_anchor import Anchor, MemoryStore, SessionRecord, SessionStore
from fastapi_anchor.anchor import REAUTHENTICATION_REQUIRED

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
# Changing the password needs a password proved in the last 5 minutes (a test may shorten it).
REAUTHENTICATE_AFTER = timedelta(seconds=int(os.environ.get("ANCHOR_EXAMPLE_REAUTH_SECONDS", 300)))
RecentSession = Annotated[SessionRecord, Depends(anchor.recent_session(REAUTHENTICATE_AFTER))]

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
</label><label><input name="remember" type="checkbox" value="true" checked
style="display:inline"> Remember me</label>
<button type="submit">Log in</button></form>"""

ACCOUNT = """<p id="greeting">Logged in as <strong>{user}</strong>.</p>
<button id="logout" type="button">Log out</button>
<button id="logout-everywhere" type="button">Log out everywhere</button>
<h2>Your devices</h2><ul id="devices"><li>loading...</li></ul>
<button id="logout-others" type="button">Log out other devices</button>
<h2>Live</h2>
<p><button id="ping" type="button">Ping</button> <span id="live-status">connecting...</span></p>
<h2>Change password</h2>
<form id="change-password"><label>New password <input name="new_password" type="password"
autocomplete="new-password" minlength="8" required></label>
<button type="submit">Change password</button></form>
<form id="confirm" hidden><p>Confirm your current password to continue.</p>
<label>Current password <input name="password" type="password" autocomplete="current-password"
required></label><button type="submit">Confirm</button></form>
<p id="password-status" role="status"></p>
<script>
const liveStatus = document.getElementById("live-status");
const live = new WebSocket(`${{location.protocol === "https:" ? "wss" : "ws"}}://${{location.host}}/live`);
live.onopen = () => {{ liveStatus.textContent = "connected"; }};
live.onmessage = event => {{
  const message = JSON.parse(event.data);
  liveStatus.textContent = `connected as ${{message.user}}, ${{message.count}} message(s)`;
}};
live.onclose = event => {{
  liveStatus.textContent = `closed: ${{event.reason || "no reason"}} (${{event.code}})`;
}};
document.getElementById("ping").onclick = () => live.send("ping");
const changeForm = document.getElementById("change-password");
const confirmForm = document.getElementById("confirm");
const passwordStatus = document.getElementById("password-status");
async function postJson(path, body) {{
  return fetch(path, {{method: "POST", headers: {{"content-type": "application/json"}},
                       body: JSON.stringify(body)}});
}}
async function changePassword() {{
  const response = await postJson("/password", {{new_password: changeForm.new_password.value}});
  if (response.headers.get("x-anchor-reason") === "{reauthentication_required}") {{
    confirmForm.hidden = false;  // the login is too old for this: ask for the password again
    confirmForm.password.focus();
    return;
  }}
  const answer = await response.json();
  passwordStatus.textContent = response.ok
    ? `Password changed; ${{answer.other_sessions_ended}} other session(s) ended.`
    : `Not changed: ${{JSON.stringify(answer.detail)}}`;
}}
changeForm.onsubmit = event => {{ event.preventDefault(); changePassword(); }};
confirmForm.onsubmit = async event => {{
  event.preventDefault();
  const response = await postJson("/confirm-password", {{password: confirmForm.password.value}});
  if (!response.ok) {{ passwordStatus.textContent = "Wrong password."; return; }}
  confirmForm.hidden = true;
  changePassword();
}};
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
    account = ACCOUNT.format(
        user=escape(session.user_id), reauthentication_required=REAUTHENTICATION_REQUIRED
    )
    return PAGE.format(body=account)


def password_matches(username: str, password: str) -> bool:
    expected = USERS.get(username)
    return expected is not None and hmac.compare_digest(password.encode(), expected.encode())


@app.post("/login", dependencies=[Depends(anchor.check_origin)])  # no login CSRF
async def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    remember: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Check the form's credentials, start a session and go back to the home page.

    Without "remember me" the cookie is a browser-session cookie, gone when the browser closes.
    """
    if not password_matches(username, password):
        return RedirectResponse("/?error=1", status_code=303)
    response = RedirectResponse("/", status_code=303)
    await anchor.login(
        response, username, {"login_method": "password"}, request=request, persistent=remember
    )
    return response


class PasswordConfirmation(BaseModel):
    password: str


class NewPassword(BaseModel):
    new_password: str = Field(min_length=8)


@app.post("/confirm-password")
async def confirm_password(
    body: PasswordConfirmation, response: Response, session: CurrentSession
) -> dict[str, bool]:
    """Re-authenticate: check the password again, then mark the session (with a new token)."""
    if not password_matches(session.user_id, body.password):
        raise HTTPException(400, detail="Wrong password")
    await anchor.reauthenticated(response, session)
    return {"ok": True}


@app.post("/password")
async def change_password(
    body: NewPassword, response: Response, session: RecentSession
) -> dict[str, int]:
    """Change the password (demo: in memory), end every other session, rotate this one."""
    ended = len(await anchor.sessions(session.user_id)) - 1
    USERS[session.user_id] = body.new_password
    await anchor.credentials_changed(response, session)
    return {"other_sessions_ended": ended}


@app.get("/me")
async def me(session: CurrentSession) -> dict[str, Any]:
    """Who is logged in, and when the session ends if left idle."""
    return {
        "user_id": session.user_id,
        "created_at": session.created_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "data": dict(session.data),
    }


@app.websocket("/live")
async def live(
    websocket: WebSocket, session: Annotated[SessionRecord, Depends(anchor.websocket_session)]
) -> None:
    """Echo the user and a message count; closed (1008) by the server when the session ends."""
    await websocket.accept()
    count = 0
    try:
        while True:
            await websocket.receive_text()
            count += 1
            await websocket.send_json({"user": session.user_id, "count": count})
    except WebSocketDisconnect:
        pass


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
