"""`newsdesk users …`: accounts and roles, passwords, sessions, a person's data (export,
delete)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from newsdesk.cli.common import UserError, friendly_errors, out, settings_for
from newsdesk.runner.app import open_database
from newsdesk.store import passwords, people, users
from newsdesk.store.db import Database

app = typer.Typer(help="Accounts: readers, editors and admins.", no_args_is_help=True)
T = TypeVar("T")

RoleOption = Annotated[str, typer.Option("--role", help="reader, editor or admin.")]
StdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from standard input (else one is made)."
    ),
]


def _write(action: Callable[[Any], T]) -> T:
    db = open_database(settings_for())
    try:
        return db.write_sync(action)
    except users.UserError as exc:
        raise UserError(str(exc)) from None
    finally:
        db.close()


def _read(action: Callable[[Any], T]) -> T:
    db: Database = open_database(settings_for())
    try:
        with db.read() as conn:
            return action(conn)
    except users.UserError as exc:
        raise UserError(str(exc)) from None
    finally:
        db.close()


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, made here): from standard input (first line), or a new one-time password."""
    if not from_stdin:
        return users.new_password(), True
    line = sys.stdin.readline().rstrip("\r\n")
    try:
        return users.check_password(line), False
    except users.UserError as exc:
        raise UserError(str(exc)) from None


def _cli(now: datetime, conn: Any, action: str, ref: str, **detail: Any) -> None:
    """The record of an account change made at the command line (the operator's shell)."""
    users.record(conn, None, "cli", action, ref, now, detail or None)


@app.command("add")
def add(name: str, role: RoleOption = "reader", password_stdin: StdinOption = False) -> None:
    """Make an account; prints a one-time password unless --password-stdin gives one."""
    with friendly_errors():
        users.check_name(name), users.check_role(role)
        password, made = _password(password_stdin)
        digest, now = passwords.hash_password(password), datetime.now(UTC)

        def write(conn: Any) -> users.User:
            user = users.add(conn, name, role, digest, now)
            _cli(now, conn, "user_add", user.name, role=user.role)
            return user

        user = _write(write)
        out.print(f"added {user.name} ({user.role})", highlight=False)
        if made:
            out.print(f"one-time password: {password}", highlight=False)
            out.print("(shown once; they change it on /account after signing in)")


@app.command("list")
def list_users() -> None:
    """Every account: role, state, live sessions and counts (never what a person follows)."""
    with friendly_errors():
        rows = _read(lambda c: users.listing(c, datetime.now(UTC)))
        table = Table(box=box.SIMPLE)
        for column in ("name", "role", "state", "sessions", "follows", "saved", "alerts",
                       "votes"):  # fmt: skip
            table.add_column(column)
        for r in rows:
            name = r["name"] + (" (NEWSDESK_ADMIN_PASSWORD)" if r["bootstrap"] else "")
            table.add_row(
                escape(name), r["role"], "disabled" if r["disabled"] else "active",
                str(r["sessions"]), str(r["follows"]), str(r["saved"]),
                str(r["alert_targets"]), str(r["votes"]),
            )  # fmt: skip
        if not rows:
            out.print("no accounts yet: newsdesk users add NAME --role admin")
            return
        out.print(table)


@app.command("disable")
def disable(
    name: str,
    enable: Annotated[bool, typer.Option("--enable", help="Let the account in again.")] = False,
) -> None:
    """Stop an account signing in (its sessions end); --enable lets it in again."""
    with friendly_errors():
        now = datetime.now(UTC)

        def write(conn: Any) -> None:
            user = users.require(conn, name)
            users.set_disabled(conn, user, not enable, now)
            _cli(now, conn, "user_enable" if enable else "user_disable", user.name)

        _write(write)
        out.print(f"{name} {'enabled' if enable else 'disabled'}", highlight=False)


@app.command("passwd")
def passwd(name: str, password_stdin: StdinOption = False) -> None:
    """Set a new password (every session of the account ends); prints a one-time password
    unless --password-stdin gives one."""
    with friendly_errors():
        _read(lambda c: users.require(c, name))
        password, made = _password(password_stdin)
        digest, now = passwords.hash_password(password), datetime.now(UTC)

        def write(conn: Any) -> None:
            user = users.require(conn, name)
            users.set_password(conn, user, digest, now)
            _cli(now, conn, "user_passwd", user.name)

        _write(write)
        out.print(f"password of {name} changed; its sessions ended", highlight=False)
        if made:
            out.print(f"one-time password: {password}", highlight=False)


@app.command("role")
def role(
    name: str, new_role: Annotated[str, typer.Argument(help="reader, editor or admin")]
) -> None:
    """Change an account's role."""
    with friendly_errors():
        now = datetime.now(UTC)

        def write(conn: Any) -> None:
            user = users.require(conn, name)
            users.set_role(conn, user, new_role, now)
            _cli(now, conn, "user_role", user.name, role=new_role)

        _write(write)
        out.print(f"{name} is now {new_role}", highlight=False)


@app.command("sessions")
def sessions(name: str) -> None:
    """An account's live sessions (id, when, from where)."""
    with friendly_errors():
        now = datetime.now(UTC)
        rows = _read(lambda c: users.sessions(c, users.require(c, name).id, now))
        if not rows:
            out.print(f"{name} has no live session", highlight=False)
            return
        for s in rows:
            out.print(
                f"{s['id']}  {s['created_at']:%Y-%m-%d %H:%M}  until {s['expires_at']:%Y-%m-%d}"
                f"  {s['address']}  {escape(s['user_agent'][:60])}",
                highlight=False,
            )


@app.command("revoke")
def revoke(
    name: str,
    session: Annotated[
        str | None, typer.Argument(help="A session id from `users sessions` (else all).")
    ] = None,
) -> None:
    """End one session of an account, or all of them."""
    with friendly_errors():
        now = datetime.now(UTC)

        def write(conn: Any) -> int:
            user = users.require(conn, name)
            if session:
                if not users.end_session_by_id(conn, user.id, session):
                    raise users.UserError(f"{name} has no session {session!r}")
                ended = 1
            else:
                ended = users.end_sessions(conn, user.id)
            _cli(now, conn, "user_signout", user.name, sessions=ended)
            return ended

        ended = _write(write)
        out.print(f"ended {ended} session(s) of {name}", highlight=False)


@app.command("export")
def export(
    name: str,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Everything the desk holds about one person, as JSON."""
    with friendly_errors():
        data = _read(lambda c: people.export(c, users.require(c, name)))
        text = json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
            out.print(f"wrote {output}", highlight=False)
        else:
            sys.stdout.write(text)


@app.command("delete")
def delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an account and everything only it holds (sessions, follows, saves, alert
    targets, feed addresses, marks); its votes stay, under an anonymous label."""
    with friendly_errors():
        _read(lambda c: users.require(c, name))
        if not yes and not typer.confirm(f"delete {name} and all their data?"):
            raise typer.Exit(1)
        now = datetime.now(UTC)

        def write(conn: Any) -> str:
            label = people.delete_person(conn, users.require(conn, name), now)
            _cli(now, conn, "user_delete", label)
            return label

        label = _write(write)
        out.print(f"deleted {name}; their votes stay as {label}", highlight=False)
