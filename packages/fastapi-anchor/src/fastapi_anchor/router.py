"""`sessions_router`: the routes of a "your devices" page, ready to mount."""

# No `from __future__ import annotations`: FastAPI must see the `Depends` of the routes'
# annotations, which name local variables.

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response
from pydantic import BaseModel

from fastapi_anchor.devices import HANDLE_LENGTH, DeviceSession, handle_of
from fastapi_anchor.store import SessionRecord

if TYPE_CHECKING:
    from fastapi_anchor.anchor import Anchor

__all__ = ["EndedSessions", "sessions_router"]


class EndedSessions(BaseModel):
    """How many sessions a request ended."""

    ended: int


def sessions_router(anchor: "Anchor", *, prefix: str = "/sessions") -> APIRouter:
    """Return routes listing and ending the current user's sessions, under `prefix`.

    - `GET {prefix}`: the user's live sessions (`DeviceSession`), most recently seen first.
    - `DELETE {prefix}/{handle}`: end one of them (204; 404 for a handle that is not one of
      the user's, whoever's it is). Ending the current one also clears its cookie.
    - `POST {prefix}/logout-others`: end every other session of the user (`{"ended": n}`).

    Every route needs a live session and refuses cross-site unsafe requests (403).
    """
    router = APIRouter(prefix=prefix, tags=["sessions"])
    current = Annotated[SessionRecord, Depends(anchor.session)]
    handle_path = Annotated[
        str,
        Path(
            pattern=f"^[0-9a-f]{{{HANDLE_LENGTH}}}$",
            description="The session's handle, as the list gives it.",
        ),
    ]

    @router.get("", summary="List my sessions")
    async def list_sessions(session: current) -> list[DeviceSession]:
        return await anchor.sessions(session.user_id, current=session)

    @router.delete(
        "/{handle}",
        status_code=204,
        summary="End one of my sessions",
        responses={404: {"description": "No such session of this user"}},
    )
    async def end_session(handle: handle_path, session: current, response: Response) -> None:
        if not await anchor.revoke(session.user_id, handle):
            raise HTTPException(404, detail="No such session")
        if handle == handle_of(session.id):
            anchor.clear_cookie(response)

    @router.post("/logout-others", summary="End all my other sessions")
    async def end_other_sessions(session: current) -> EndedSessions:
        return EndedSessions(ended=await anchor.logout_all(session.user_id, keep=session))

    return router
