"""A person's own settings page: who they are, their password, their sessions (each can be
ended). Follows, personal feeds and alerts add their parts to the same page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.store import follows, passwords, users
from newsdesk.web.auth import check_csrf, require_user
from newsdesk.web.deps import SESSION_COOKIE, database, render

router = APIRouter(include_in_schema=False)


def account_context(request: Request) -> dict[str, object]:
    me = require_user(request)
    now = datetime.now(UTC)
    with database(request).read() as conn:
        live = users.sessions(conn, me.user_id, now)
        tokens = follows.feed_tokens(conn, me.user_id)
        targets = follows.alert_targets(conn, me.user_id)
    for s in live:
        s["current"] = s.pop("hash") == me.session_hash
    return {"me": me, "sessions": live, "feed_tokens": tokens, "alert_targets": targets}


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, note: str = "") -> HTMLResponse:
    context = account_context(request)
    return render(request, "account.html", heading="Your account", note=note[:200], **context)


@router.post("/account/password")
def change_password(
    request: Request,
    csrf: str = Form(""),
    current: str = Form(""),
    new: str = Form(""),
) -> Response:
    me = require_user(request)
    check_csrf(request, me, csrf)
    if me.bootstrap:
        raise HTTPException(400, "this account signs in with NEWSDESK_ADMIN_PASSWORD; change that")
    with database(request).read() as conn:
        user = users.get(conn, me.user_id)
    if user is None or not passwords.verify_password(current, user.password_hash):
        raise HTTPException(400, "the current password is not right")
    try:
        users.check_password(new)
    except users.UserError as exc:
        raise HTTPException(400, str(exc)) from None
    digest, now = passwords.hash_password(new), datetime.now(UTC)
    database(request).write_sync(lambda c: users.set_password(c, user, digest, now))
    # every session ended, this one too: sign in again with the new password
    response = RedirectResponse(f"/signin?next=/account&name={user.name}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/account/sessions/{session_id}/end")
def end_session(request: Request, session_id: str, csrf: str = Form("")) -> Response:
    me = require_user(request)
    check_csrf(request, me, csrf)
    if not database(request).write_sync(
        lambda c: users.end_session_by_id(c, me.user_id, session_id)
    ):
        raise HTTPException(404, "no such session of yours")
    return RedirectResponse("/account#sessions", status_code=303)
