"""Editors sign in with the one password in NEWSDESK_ADMIN_PASSWORD.

A session is a random cookie token; the database keeps only its SHA-256, with a CSRF token
that every form of a signed-in page carries and every write checks. The sign-in form itself
uses a double-submit cookie, since there is no session yet to bind its token to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.store import reader
from newsdesk.web import throttle
from newsdesk.web.deps import (  # the session lookup lives in deps: render needs it
    EDITOR_NAME,
    SESSION_COOKIE,
    EditorSession,
    current_editor,
    database,
    render,
    settings,
)

router = APIRouter()
LOGIN_COOKIE = "nd_login_csrf"
SESSION_DAYS = 14


class NotSignedIn(Exception):
    """Raised by `require_editor`; the app turns it into a redirect or a 401."""


def require_editor(request: Request) -> EditorSession:
    editor = current_editor(request)
    if editor is None:
        raise NotSignedIn()
    return editor


def check_csrf(request: Request, editor: EditorSession, token: str | None) -> None:
    """A write must carry this session's token, as a form field or an X-CSRF-Token header."""
    sent = token or request.headers.get("x-csrf-token") or ""
    if not hmac.compare_digest(sent.encode(), editor.csrf.encode()):
        raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")


def _password_ok(given: str, expected: str) -> bool:
    # Compare digests so the time taken says nothing about the password's length.
    a = hashlib.sha256(given.encode()).digest()
    b = hashlib.sha256(expected.encode()).digest()
    return bool(expected) and hmac.compare_digest(a, b)


def _safe_next(value: str | None) -> str:
    # Only local paths: a sign-in link must not bounce an editor to another site.
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/signin", response_class=HTMLResponse, summary="Sign-in for editors")
def signin_page(request: Request, next: str | None = None, error: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    configured = bool(settings(request).admin_password.get_secret_value())
    response = render(
        request,
        "signin.html",
        heading="Sign in",
        login_csrf=token,
        next=_safe_next(next),
        error=error,
        configured=configured,
    )
    if error:
        response.status_code = 401
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/signin",
    )
    return response


@router.post("/signin", summary="Sign in")
def signin(
    request: Request,
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/"),
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        raise HTTPException(403, "the sign-in form expired; reload it and try again")
    # counted before the password is checked, so parallel guesses queue (web/throttle.py)
    attempt = throttle.attempt_keys(request, f"signin:{EDITOR_NAME}")
    wait = throttle.try_now(request, attempt)
    if wait:
        response = signin_page(request, next=next, error=(
            f"Too many failed sign-ins. Try again in {throttle.wait_words(wait)}."))  # fmt: skip
        response.status_code = 429
        response.headers.update(throttle.retry_after(wait))
        return response
    expected = settings(request).admin_password.get_secret_value()
    if not _password_ok(password, expected):
        return signin_page(request, next=next, error="That password is not right.")
    throttle.passed(request, attempt)
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    database(request).write_sync(
        lambda c: reader.create_session(
            c, token, csrf_token, now, now + timedelta(days=SESSION_DAYS)
        )
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400, httponly=True, samesite="lax",
        secure=_secure(request), path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/signin")
    return response


@router.post("/signout", summary="Sign out")
def signout(request: Request, csrf: str = Form("")) -> Response:
    editor = require_editor(request)
    check_csrf(request, editor, csrf)
    token = request.cookies.get(SESSION_COOKIE, "")
    database(request).write_sync(lambda c: reader.end_session(c, token))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def signin_redirect(request: Request) -> Response:
    """Where an anonymous request to an editor page goes: pages get the sign-in form, fragments
    and JSON get a plain 401."""
    wants_html = "text/html" in request.headers.get("accept", "")
    if request.method == "GET" and wants_html and "hx-request" not in request.headers:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
    return Response("sign in first", status_code=401, media_type="text/plain")
