"""People sign in with their account (`newsdesk users add`); NEWSDESK_ADMIN_PASSWORD signs in
the bootstrap admin (name left empty, or `admin`).

A session is a random cookie token; the database keeps only its SHA-256 with its account, and
a CSRF token that every form of a signed-in page carries and every write checks. The sign-in
form itself uses a double-submit cookie, since there is no session yet to bind its token to.
Failed sign-ins are throttled per account and per address (web/throttle.py).

Roles (store/users.py): `require_user` lets any account in, `require_editor` editors and
admins, `require_admin` admins only; a signed-in person below the role gets a 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.store import passwords, users
from newsdesk.web import throttle
from newsdesk.web.deps import (  # the session lookup lives in deps: render needs it
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
    """Raised by the `require_*` checks; the app turns it into a redirect or a 401."""


class NotAllowed(Exception):
    """A signed-in person below the role a page or write needs; the app answers 403."""

    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role


def require_user(request: Request) -> EditorSession:
    """Any signed-in account: readers follow and save."""
    editor = current_editor(request)
    if editor is None:
        raise NotSignedIn()
    return editor


def require_role(request: Request, role: str) -> EditorSession:
    editor = require_user(request)
    if not editor.allows(role):
        raise NotAllowed(role)
    return editor


def require_editor(request: Request) -> EditorSession:
    """Editors and admins: votes and the admin desk."""
    return require_role(request, "editor")


def require_admin(request: Request) -> EditorSession:
    """Admins only: sources, the policy, budgets and accounts."""
    return require_role(request, "admin")


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


def authenticate(request: Request, name: str, password: str) -> users.User | None:
    """The account that name and password open, or None. The bootstrap admin's password is
    NEWSDESK_ADMIN_PASSWORD; an unknown name costs the time a real check costs."""
    name = name.strip().lower() or users.BOOTSTRAP_NAME
    with database(request).read() as conn:
        user = users.find(conn, name)
    if name == users.BOOTSTRAP_NAME:
        if not _password_ok(password, settings(request).admin_password.get_secret_value()):
            return None
        if user is None or user.bootstrap:
            now = datetime.now(UTC)
            user = database(request).write_sync(lambda c: users.bootstrap(c, now))
        return None if user.disabled else user
    if user is None or user.bootstrap:
        passwords.burn(password)
        return None
    if not passwords.verify_password(password, user.password_hash) or user.disabled:
        return None
    return user


def signin_configured(request: Request) -> bool:
    if settings(request).admin_password.get_secret_value():
        return True
    with database(request).read() as conn:
        return bool(conn.execute(users.any_account_query()).first())


def _safe_next(value: str | None) -> str:
    # Only local paths: a sign-in link must not bounce an editor to another site.
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/signin", response_class=HTMLResponse, summary="Sign-in for readers and editors")
def signin_page(
    request: Request, next: str | None = None, error: str | None = None, name: str = ""
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "signin.html",
        heading="Sign in",
        login_csrf=token,
        next=_safe_next(next),
        error=error,
        account_name=name[:40],
        configured=signin_configured(request),
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
    name: str = Form(""),
    password: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/"),
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        raise HTTPException(403, "the sign-in form expired; reload it and try again")
    account = (name.strip().lower() or users.BOOTSTRAP_NAME)[:80]
    # counted before the password is checked, so parallel guesses queue (web/throttle.py);
    # the account is the name given, known or not, so a lock says nothing about which exist
    attempt = throttle.attempt_keys(request, f"signin:{account}")
    wait = throttle.try_now(request, attempt)
    if wait:
        response = signin_page(request, next=next, name=name, error=(
            f"Too many failed sign-ins. Try again in {throttle.wait_words(wait)}."))  # fmt: skip
        response.status_code = 429
        response.headers.update(throttle.retry_after(wait))
        return response
    user = authenticate(request, name, password)
    if user is None:
        return signin_page(
            request, next=next, name=name, error="That name and password are not right."
        )
    throttle.passed(request, attempt)
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    address = throttle.request_address(request)
    agent = request.headers.get("user-agent", "")
    database(request).write_sync(
        lambda c: users.create_session(
            c, user.id, token, csrf_token, now, now + timedelta(days=SESSION_DAYS),
            address, agent,
        )
    )  # fmt: skip
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400, httponly=True, samesite="lax",
        secure=_secure(request), path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_COOKIE, path="/signin")
    return response


@router.post("/signout", summary="Sign out")
def signout(request: Request, csrf: str = Form("")) -> Response:
    editor = require_user(request)
    check_csrf(request, editor, csrf)
    token = request.cookies.get(SESSION_COOKIE, "")
    database(request).write_sync(lambda c: users.end_session(c, token))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def refused(request: Request, role: str) -> Response:
    """The answer to a signed-in person below the role a route needs."""
    message = f"this needs an account with the {role} role"
    wants_html = "text/html" in request.headers.get("accept", "")
    if wants_html and "hx-request" not in request.headers:
        return render(request, "error.html", status_code=403, heading="Not allowed",
                      status=403, message=message)  # fmt: skip
    return Response(message, status_code=403, media_type="text/plain")


def signin_redirect(request: Request) -> Response:
    """Where an anonymous request to a signed-in page goes: pages get the sign-in form,
    fragments and JSON get a plain 401."""
    wants_html = "text/html" in request.headers.get("accept", "")
    if request.method == "GET" and wants_html and "hx-request" not in request.headers:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
    return Response("sign in first", status_code=401, media_type="text/plain")
