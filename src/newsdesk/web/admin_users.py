"""Accounts, for admins: each account's role, state and counts (never what a person follows,
saves or where their alerts go), add an account (its one-time password shown once), change a
role, disable or enable, end sessions; and the record of desk actions."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.store import passwords, users
from newsdesk.web.admin import page
from newsdesk.web.auth import EditorSession, check_csrf, require_admin
from newsdesk.web.deps import database

router = APIRouter(prefix="/admin/users", dependencies=[Depends(require_admin)],
                   include_in_schema=False)  # fmt: skip


def _page(request: Request, created: tuple[str, str] | None = None) -> HTMLResponse:
    with database(request).read() as conn:
        rows = users.listing(conn, datetime.now(UTC))
        actions = users.recent_actions(conn, 50)
    return page(request, "users", "users", accounts=rows, actions=actions, roles=users.ROLES,
                created=created)  # fmt: skip


@router.get("", response_class=HTMLResponse)
def admin_users(request: Request) -> HTMLResponse:
    return _page(request)


def _target(request: Request, name: str, me: EditorSession) -> users.User:
    with database(request).read() as conn:
        user = users.find(conn, name)
    if user is None:
        raise HTTPException(404, "no such account")
    return user


@router.post("", response_class=HTMLResponse)
def admin_user_add(
    request: Request,
    me: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    name: str = Form(...),
    role: str = Form("reader"),
) -> Response:
    check_csrf(request, me, csrf)
    password = users.new_password()
    digest, now = passwords.hash_password(password), datetime.now(UTC)

    def add(c):  # type: ignore[no-untyped-def]
        user = users.add(c, name, role, digest, now)
        users.record(c, me.user_id, me.name, "user_add", user.name, now, {"role": user.role})
        return user

    try:
        user = database(request).write_sync(add)
    except users.UserError as exc:
        raise HTTPException(400, str(exc)) from None
    return _page(request, created=(user.name, password))  # shown once, never stored


@router.post("/{name}/role")
def admin_user_role(
    request: Request,
    name: str,
    me: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    role: str = Form(...),
) -> Response:
    check_csrf(request, me, csrf)
    user = _target(request, name, me)
    if user.id == me.user_id and role != "admin":
        raise HTTPException(400, "you cannot take your own admin role; another admin can")
    now = datetime.now(UTC)

    def write(c):  # type: ignore[no-untyped-def]
        users.set_role(c, user, role, now)
        users.record(c, me.user_id, me.name, "user_role", user.name, now, {"role": role})

    try:
        database(request).write_sync(write)
    except users.UserError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/{name}/disable")
def admin_user_disable(
    request: Request,
    name: str,
    me: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    disabled: str = Form("true"),
) -> Response:
    check_csrf(request, me, csrf)
    user = _target(request, name, me)
    off = disabled != "false"
    if user.id == me.user_id and off:
        raise HTTPException(400, "you cannot disable your own account")
    now = datetime.now(UTC)

    def write(c):  # type: ignore[no-untyped-def]
        users.set_disabled(c, user, off, now)
        users.record(c, me.user_id, me.name, "user_disable" if off else "user_enable",
                     user.name, now)  # fmt: skip

    database(request).write_sync(write)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/{name}/signout")
def admin_user_signout(
    request: Request,
    name: str,
    me: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, me, csrf)
    user = _target(request, name, me)
    now = datetime.now(UTC)

    def write(c):  # type: ignore[no-untyped-def]
        users.end_sessions(c, user.id)
        users.record(c, me.user_id, me.name, "user_signout", user.name, now)

    database(request).write_sync(write)
    return RedirectResponse("/admin/users", status_code=303)
