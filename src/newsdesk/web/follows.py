"""Follows: follow or unfollow an event, a tag, an entity, a source or a saved search (forms on
cards, the event page, tag pages and search results), and `/following`, what they brought
since the person last looked. Each person's follows are theirs alone."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.domain import is_row_id
from newsdesk.publish import feeds
from newsdesk.publish.following import feed_cards, groups, source_name
from newsdesk.store import follows, users
from newsdesk.web.account import account_context
from newsdesk.web.auth import check_csrf, require_user
from newsdesk.web.deps import database, desk_now, render, settings
from newsdesk.web.feeds import base_url, feed_response

router = APIRouter(include_in_schema=False)
PRIVATE = "private, max-age=300"  # a personal feed: no shared cache may keep it


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
        # the button htmx swaps in says what it follows, as the page's did
        label = ""
        if kind == "source":
            with database(request).read() as conn:
                label = source_name(conn, target)
        return render(request, "_follow.html", kind=kind, target=target, following=not remove,
                      fresh=False, source_label=label)  # fmt: skip
    return RedirectResponse(_back(request, "/following"), status_code=303)


@router.get("/following", response_class=HTMLResponse)
def following(request: Request) -> HTMLResponse:
    me = require_user(request)
    with database(request).read() as conn:
        found = groups(conn, me.user_id, tz=settings(request).timezone, now=desk_now(request))
    # shown now: the next visit's "new" starts from here
    now = datetime.now(UTC)
    database(request).write_sync(lambda c: follows.seen(c, me.user_id, now))
    following = frozenset((g["kind"], g["target"]) for g in found)  # every follow has a group
    return render(request, "following.html", heading="Following", active="following",
                  groups=found, alerts=follows.ALERTS, following=following)  # fmt: skip


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


@router.get("/me/feed/{token}.{fmt}")
def personal_feed(request: Request, token: str, fmt: Literal["xml", "json"]) -> Response:
    """A person's follows as RSS or JSON Feed; the token in the URL is the only key (readers
    that cannot sign in), so it is kept hashed and can be revoked on /account."""
    with database(request).read() as conn:
        owner = follows.feed_owner(conn, token) if len(token) <= 100 else None
        if owner is None:
            return Response("no such feed\n", status_code=404, media_type="text/plain")
        cards = feed_cards(conn, owner.id, limit=feeds.FEED_SIZE * 3,
                           tz=settings(request).timezone)  # fmt: skip
        spec = feeds.personal_spec(f"/me/feed/{token}", owner.name)
        feed = feeds.cards_feed(conn, spec, cards, base_url(request))
    return feed_response(request, feed, fmt, cache_control=PRIVATE)


@router.post("/account/feeds")
def feed_urls(request: Request, csrf: str = Form(""), revoke: bool = Form(False)) -> Response:
    """Make a personal feed URL (shown once: only its hash is kept), or revoke them all."""
    me = require_user(request)
    check_csrf(request, me, csrf)
    now = datetime.now(UTC)
    if revoke:
        database(request).write_sync(lambda c: follows.revoke_feed_tokens(c, me.user_id))
        return RedirectResponse("/account#feeds", status_code=303)
    token = database(request).write_sync(lambda c: follows.new_feed_token(c, me.user_id, now))
    base = base_url(request)
    urls = (f"{base}/me/feed/{token}.xml", f"{base}/me/feed/{token}.json")
    return render(request, "account.html", heading="Your account", new_feed=urls,
                  **account_context(request))  # fmt: skip


@router.post("/account/alerts")
def alert_target(
    request: Request,
    csrf: str = Form(""),
    url: str = Form(""),
    label: str = Form(""),
    remove: int | None = Form(None),
) -> Response:
    """Add one of your apprise URLs (mailto://, ntfy://, …), or remove one by its id."""
    me = require_user(request)
    check_csrf(request, me, csrf)
    now = datetime.now(UTC)
    try:
        if remove is not None:
            if not database(request).write_sync(
                lambda c: follows.remove_alert_target(c, me.user_id, remove)
            ):
                raise HTTPException(404, "no such alert target of yours")
        else:
            database(request).write_sync(
                lambda c: follows.add_alert_target(c, me.user_id, url, label, now)
            )
    except follows.FollowError as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/account#alerts", status_code=303)


def _unsubscribe_ok(request: Request, user_id: int, sig: str) -> bool:
    with database(request).read() as conn:
        user = users.get(conn, user_id) if is_row_id(user_id) else None
    if user is None or not user.alert_key:
        return False
    return hmac.compare_digest(
        sig.encode(), follows.unsubscribe_sig(user.id, user.alert_key).encode()
    )


@router.get("/unsubscribe/{user_id}/{sig}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, user_id: int, sig: str) -> Response:
    """The link in every alert: a confirmation form (a mail scanner that follows links must
    not unsubscribe anyone), no sign-in needed."""
    if not _unsubscribe_ok(request, user_id, sig):
        return render(request, "error.html", 404, status=404, message="No such link.")
    return render(request, "unsubscribe.html", heading="Stop alerts", action=request.url.path,
                  done=False)  # fmt: skip


@router.post("/unsubscribe/{user_id}/{sig}", response_class=HTMLResponse)
def unsubscribe(request: Request, user_id: int, sig: str) -> Response:
    if not _unsubscribe_ok(request, user_id, sig):
        return render(request, "error.html", 404, status=404, message="No such link.")
    database(request).write_sync(lambda c: follows.stop_alerts(c, user_id))
    return render(request, "unsubscribe.html", heading="Stop alerts", action="", done=True)
