"""The `fastapi-anchor` command: clean up expired sessions, list and revoke a user's sessions.

    fastapi-anchor --app myapp.auth:anchor cleanup [--batch-size 1000] [--dry-run]
    fastapi-anchor --app myapp.auth:anchor sessions USER_ID
    fastapi-anchor --app myapp.auth:anchor revoke USER_ID
    fastapi-anchor --app myapp.auth:anchor revoke --session STORED_ID
    fastapi-anchor --app myapp.auth:anchor revoke USER_ID --session ID_PREFIX

`--app` (or `FASTAPI_ANCHOR_APP`) names the application's `Anchor`, a store, or a function that
returns one. Exit codes: 0 done, 1 nothing matched (revoke), 2 bad usage or import string,
3 store unavailable, 4 sessions table missing.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from fastapi_anchor.exceptions import (
    ConfigurationError,
    StoreRejected,
    StoreUnavailable,
    TableMissing,
)
from fastapi_anchor.loading import Target, load_target, opened
from fastapi_anchor.store import CountsExpired

__all__ = ["app", "main"]

EXIT_NOTHING_MATCHED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_TABLE_MISSING = 4
EXIT_REJECTED = 5

STORED_ID_LENGTH = 64
MIN_PREFIX = 8
HEX_DIGITS = "0123456789abcdef"

T = TypeVar("T")

app = typer.Typer(
    name="fastapi-anchor",
    help="Manage FastAPI Anchor sessions: clean up expired ones, list and revoke a user's.",
    no_args_is_help=True,
    add_completion=False,
)
# Piped output (cron logs, grep) keeps full 64-character ids rather than Rich's 80 columns.
out = Console(width=None if sys.stdout.isatty() else 320)  # piped: one line per session
err = Console(stderr=True)

AppOption = Annotated[
    str,
    typer.Option(
        "--app",
        "-a",
        envvar="FASTAPI_ANCHOR_APP",
        help="Import string of the app's Anchor or store, like 'myapp.auth:anchor'.",
    ),
]


AppDirOption = Annotated[
    str, typer.Option("--app-dir", help="Folder put first on sys.path to import --app from.")
]


@app.callback()
def _root(ctx: typer.Context, app_path: AppOption, app_dir: AppDirOption = ".") -> None:
    sys.path.insert(0, os.path.abspath(app_dir))  # as uvicorn does, so 'myapp:anchor' imports
    ctx.obj = app_path


def _run(ctx: typer.Context, action: Callable[[Target], Awaitable[T]]) -> T:
    async def go() -> T:
        target = await load_target(ctx.obj)
        async with opened(target.store):
            return await action(target)

    try:
        return asyncio.run(go())
    except ConfigurationError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except TableMissing as exc:
        err.print(f"[red]sessions table missing:[/] {exc}")
        raise typer.Exit(EXIT_TABLE_MISSING) from None
    except StoreUnavailable as exc:
        err.print(f"[red]session store unavailable:[/] {exc}")
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    except StoreRejected as exc:
        err.print(f"[red]the database rejected the call:[/] {exc}")
        raise typer.Exit(EXIT_REJECTED) from None


@app.command()
def cleanup(
    ctx: typer.Context,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Rows deleted per statement (short locks).")
    ] = 1000,
    dry_run: Annotated[bool, typer.Option(help="Count expired sessions, delete none.")] = False,
) -> None:
    """Delete expired sessions in batches; safe while the app serves."""

    async def action(target: Target) -> None:
        now = target.clock()
        store = target.store
        total = await store.count_expired(now) if isinstance(store, CountsExpired) else None
        if dry_run:
            if total is None:
                err.print("[red]error:[/] this store cannot count expired sessions")
                raise typer.Exit(EXIT_USAGE)
            out.print(f"{total} expired sessions would be deleted (dry run)")
            return
        deleted = 0
        columns = [SpinnerColumn(), TextColumn("deleting expired sessions"), BarColumn()]
        with Progress(*columns, MofNCompleteColumn(), console=err, transient=True) as progress:
            task = progress.add_task("cleanup", total=total)
            while True:
                batch = await store.delete_expired(now, batch_size)
                deleted += batch
                progress.update(task, completed=deleted)
                if batch < batch_size:
                    break
        out.print(f"deleted {deleted} expired sessions")

    _run(ctx, action)


@app.command()
def sessions(ctx: typer.Context, user_id: str) -> None:
    """List a user's sessions: stored id, times, login address and client (never tokens)."""

    async def action(target: Target) -> None:
        records = sorted(await target.store.list_user(user_id), key=lambda r: r.created_at)
        now = target.clock()
        table = Table(title=f"sessions of {user_id}: {len(records)}")
        columns = ("stored id", "created (UTC)", "last seen (UTC)", "expires (UTC)", "state")
        table.add_column("stored id", no_wrap=True)  # whole, for `revoke --session`
        for column in (*columns[1:], "address", "client", "data keys"):
            table.add_column(column)
        for record in records:
            table.add_row(
                record.id,
                record.created_at.isoformat(timespec="seconds"),
                record.last_seen_at.isoformat(timespec="seconds"),
                record.expires_at.isoformat(timespec="seconds"),
                "expired" if record.expires_at <= now else "live",
                record.ip_address or "-",
                record.user_agent or "-",
                ", ".join(sorted(record.data)) or "-",
            )
        out.print(table)

    _run(ctx, action)


def _session_id_or_prefix(session: str) -> str:
    """Check `--session`: 8 to 64 hexadecimal characters, lowercased as stored ids are."""
    value = session.lower()
    if value.strip(HEX_DIGITS):
        raise _usage(f"--session takes a stored id, hexadecimal characters only; got {session!r}")
    if len(value) < MIN_PREFIX:
        raise _usage(
            f"--session {session!r} is too short: give at least {MIN_PREFIX} characters of the "
            "stored id that `sessions USER_ID` shows"
        )
    if len(value) > STORED_ID_LENGTH:
        raise _usage(f"a stored id has {STORED_ID_LENGTH} characters; got {len(value)}")
    return value


def _usage(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(EXIT_USAGE)


@app.command()
def revoke(
    ctx: typer.Context,
    user_id: Annotated[
        str | None,
        typer.Argument(help="End every session of this user (or, with --session, one of them)."),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            help="End one session: its stored id, or with USER_ID a unique prefix of it "
            f"(at least {MIN_PREFIX} characters).",
        ),
    ] = None,
) -> None:
    """End every session of a user, or one session by its stored id (or a prefix of it)."""
    if user_id is None and session is None:
        raise _usage("give USER_ID, --session STORED_ID, or both (USER_ID --session PREFIX)")
    wanted = None if session is None else _session_id_or_prefix(session)
    if wanted is not None and user_id is None and len(wanted) < STORED_ID_LENGTH:
        # Stores look sessions up by whole id or by user only: a prefix is searched among
        # the sessions of one user.
        raise _usage(
            f"a prefix of a stored id needs the user: fastapi-anchor revoke USER_ID --session "
            f"{session} (or give all {STORED_ID_LENGTH} characters of the id)"
        )

    async def action(target: Target) -> tuple[int, str | None]:
        if wanted is None:
            assert user_id is not None
            return await target.store.delete_user(user_id), None
        if user_id is None:
            return int(await target.store.delete(wanted)), wanted
        matches = [r.id for r in await target.store.list_user(user_id) if r.id.startswith(wanted)]
        if len(matches) > 1:
            raise _usage(
                f"--session {session} matches {len(matches)} sessions of user {user_id}: "
                "give more characters"
            )
        if not matches:
            return 0, None
        return int(await target.store.delete(matches[0])), matches[0]

    ended, session_id = _run(ctx, action)
    if wanted is None:
        out.print(f"revoked {ended} session(s) of user {user_id}")
    elif ended:
        out.print(f"revoked session {session_id}")
    else:
        owner = "" if user_id is None else f" of user {user_id}"
        out.print(f"no session{owner} with id {session}")
    if ended == 0:
        raise typer.Exit(EXIT_NOTHING_MATCHED)


def main() -> None:
    """Run the command line (the `fastapi-anchor` console script)."""
    app()
