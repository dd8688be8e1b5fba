"""Follows: follow or unfollow an event, a tag, an entity, a source or a saved search (forms on
cards, the event page, tag pages and search results), and `/following`, what they brought
since the person last looked. Each person's follows are theirs alone."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.publish.following import groups
from newsdesk.store import follows
from newsdesk.web.auth import check_csrf, require_user
from newsdesk.web.deps import database, desk_now, render, settings

router = APIRouter(include_in_schema=False)


def _back(request: Request, fallback: str) -> str:
    ref = request.headers.get("referer", "")
    return ref if ref.startswith(str(request.base_url)) else fallback


@router.post("/follow")
def follow(
    request: Request,
    csrf: str = Form(""),
    kind: str = Form(...),
    target: str = Form(...),
    remove: bool = Form(False),
) -> Response:
    me = require_user(request)
    check_csrf(request, me, csrf)
    now = datetime.now(UTC)

    def write(c):  # type: ignore[no-untyped-def]
        if remove:
            follows.unfollow(c, me.user_id, kind, target)
        else:
            follows.follow(c, me.user_id, kind, target, now)

    try:
        database(request).write_sync(write)
    except follows.FollowError as exc:
        raise HTTPException(400, str(exc)) from None
    if request.headers.get("hx-request"):
        return render(request, "_follow.html", kind=kind, target=target, following=not remove,
                      fresh=False)  # fmt: skip
    return RedirectResponse(_back(request, "/following"), status_code=303)


@router.get("/following", response_class=HTMLResponse)
def following(request: Request) -> HTMLResponse:
    me = require_user(request)
    with database(request).read() as conn:
        found = groups(conn, me.user_id, tz=settings(request).timezone, now=desk_now(request))
    # shown now: the next visit's "new" starts from here
    now = datetime.now(UTC)
    database(request).write_sync(lambda c: follows.seen(c, me.user_id, now))
    return render(request, "following.html", heading="Following", active="following",
                  groups=found, alerts=follows.ALERTS)  # fmt: skip


@router.post("/following/{follow_id}/alert")
def set_alert(
    request: Request, follow_id: int, csrf: str = Form(""), alert: str = Form(...)
) -> Response:
    me = require_user(request)
    check_csrf(request, me, csrf)
    try:
        done = database(request).write_sync(
            lambda c: follows.set_alert(c, me.user_id, follow_id, alert)
        )
    except follows.FollowError as exc:
        raise HTTPException(400, str(exc)) from None
    if not done:
        raise HTTPException(404, "no such follow of yours")
    return RedirectResponse("/following", status_code=303)
