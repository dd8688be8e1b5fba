"""The Google Reader API subset reader apps use (NetNewsWire, Reeder, FeedMe), plus OPML.

ClientLogin trades a desk account's name and password (`newsdesk users add`) for an Auth
token: NAME/HMAC, keyed by the account's stored password hash, so nothing more is stored and
a new password (or a disabled account) revokes it. The NEWSDESK_READER_USER /
NEWSDESK_READER_PASSWORD pair stays as a fallback (HMAC of the user under that password).
Apps then send `Authorization: GoogleLogin auth=TOKEN`; read and starred marks are each
reader's own. Edits also need the short T token from /reader/api/0/token. With no account
and no reader password the API answers 404: it is off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import Connection

from newsdesk.publish import reader
from newsdesk.publish.memo import memoized
from newsdesk.publish.read import BadRequest
from newsdesk.store import passwords, users
from newsdesk.web import throttle
from newsdesk.web.deps import database, settings
from newsdesk.web.feeds import base_url
from newsdesk.web.openapi import READER_APP, answer, json_error

router = APIRouter(tags=["reader apps"], responses=READER_APP)
TEXT = {"response_class": PlainTextResponse}
STREAM = {
    400: json_error("A continuation or ot (Unix seconds) this desk cannot use"),
    404: answer("No such stream, or the reader API is off", "application/json", "text/plain"),
}
API = "/reader/api/0"
MAX_ITEMS = 100


@dataclass(frozen=True)
class Reader:
    """Who a reader-app request is: an account (user_id), or the NEWSDESK_READER_* pair
    (user_id None); `token` is the Auth token it sent."""

    token: str
    name: str
    user_id: int | None


def _sign(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _pair_token(request: Request) -> str | None:
    s = settings(request)
    password = s.reader_password.get_secret_value()
    if not password:
        return None
    return f"{s.reader_user}/{_sign(password, s.reader_user)}"


def _account_key(request: Request, user: users.User) -> str:
    """What an account's Auth token is signed with: its password hash (the bootstrap admin's:
    NEWSDESK_ADMIN_PASSWORD), so a new password revokes every app's login."""
    if user.bootstrap:
        return settings(request).admin_password.get_secret_value()
    return user.password_hash


def _account_token(request: Request, user: users.User) -> str:
    return f"{user.name}/{_sign(_account_key(request, user), f'reader:{user.id}:{user.name}')}"


def _api_on(request: Request) -> bool:
    if _pair_token(request) is not None:
        return True
    with database(request).read() as conn:
        return conn.execute(users.any_account_query()).first() is not None


def _edit_token(auth: str) -> str:
    return hashlib.sha256(("edit:" + auth).encode()).hexdigest()[:57]


def _reader_of(request: Request, given: str) -> Reader | None:
    name = given.split("/", 1)[0]
    user = None
    if name:
        with database(request).read() as conn:
            # every request of a reader app asks: kept until the database changes
            user = memoized(conn, ("reader account", name), lambda: users.find(conn, name))
    if user is not None and not user.disabled and _account_key(request, user):
        if hmac.compare_digest(given, _account_token(request, user)):
            return Reader(given, user.name, user.id)
        return None
    pair = _pair_token(request)
    if pair is not None and hmac.compare_digest(given, pair):
        return Reader(given, settings(request).reader_user, None)
    return None


def _check(request: Request) -> Response | Reader:
    """The reader when the request carries a good Auth token, else the error answer."""
    header = request.headers.get("authorization", "")
    given = header.split("auth=", 1)[1].strip() if "auth=" in header else ""
    found = _reader_of(request, given) if given else None
    if found is not None:
        return found
    if not _api_on(request):
        return PlainTextResponse("the reader API is off\n", status_code=404)
    return PlainTextResponse("Unauthorized\n", status_code=401)


@router.post(
    "/accounts/ClientLogin",
    summary="Log in a reader app",
    responses={429: answer("Too many failed logins: wait Retry-After seconds", "text/plain")},
    **TEXT,
)
def client_login(
    request: Request, Email: Annotated[str, Form()] = "", Passwd: Annotated[str, Form()] = ""
) -> Response:
    if not _api_on(request):
        return PlainTextResponse("the reader API is off\n", status_code=404)
    # the account is the name given, known or not, so a lock says nothing about which exist;
    # the same row as the web sign-in's, so guessing through either counts against both
    name = Email.strip().lower()
    attempt = throttle.attempt_keys(request, f"signin:{name[:80]}")
    wait = throttle.try_now(request, attempt)
    if wait:
        return PlainTextResponse("Error=TooManyAttempts\n", status_code=429,
                                 headers=throttle.retry_after(wait))  # fmt: skip
    token = _login(request, name, Email, Passwd)
    if token is None:
        return PlainTextResponse("Error=BadAuthentication\n", status_code=401)
    throttle.passed(request, attempt)
    return PlainTextResponse(f"SID={token}\nLSID={token}\nAuth={token}\n")


def _login(request: Request, name: str, given_name: str, password: str) -> str | None:
    """The Auth token a name and password open: an account's first, else the pair's."""
    s = settings(request)
    with database(request).read() as conn:
        user = users.find(conn, name) if users.NAME.match(name) else None
    if user is not None and not user.disabled:
        if user.bootstrap:
            expected = s.admin_password.get_secret_value()
            ok = bool(expected) and hmac.compare_digest(password.encode(), expected.encode())
        else:
            ok = passwords.verify_password(password, user.password_hash)
        return _account_token(request, user) if ok else None
    pair = _pair_token(request)
    expected_pair = s.reader_password.get_secret_value().encode()
    if pair is not None and given_name == s.reader_user:
        if hmac.compare_digest(password.encode(), expected_pair):  # bytes: any text compares
            return pair
        return None
    passwords.burn(password)  # no such account: cost what a check costs
    return None


@router.get(f"{API}/token", summary="Edit token", **TEXT)
def edit_token(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    return PlainTextResponse(_edit_token(auth.token))


@router.get(f"{API}/user-info", summary="The reader account")
def user_info(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    user = auth.name
    return JSONResponse({"userId": user, "userName": user, "userProfileId": user, "userEmail": ""})


@router.get(f"{API}/subscription/list", summary="The desk's feeds as subscriptions")
def subscription_list(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    base = base_url(request)
    with database(request).read() as conn:
        subs = reader.subscriptions(conn)
    return JSONResponse(
        {
            "subscriptions": [
                {
                    "id": sub.feed_id(base),
                    "title": sub.title,
                    "categories": [{"id": f"user/-/label/{sub.label}", "label": sub.label}],
                    "url": base + sub.path,
                    "htmlUrl": base + "/",
                    "iconUrl": "",
                }
                for sub in subs
            ]
        }
    )


@router.get(f"{API}/tag/list", summary="Labels and states")
def tag_list(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    tags = [{"id": reader.STARRED}, {"id": "user/-/label/newsdesk", "type": "folder"},
            {"id": "user/-/label/tags", "type": "folder"}]  # fmt: skip
    return JSONResponse({"tags": tags})


@router.get(f"{API}/unread-count", summary="Unread stories per subscription")
def unread_count(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    base = base_url(request)
    with database(request).read() as conn:
        counts = [
            {"id": sub.feed_id(base), "count": reader.unread(conn, sub.stream, auth.user_id)}
            for sub in reader.subscriptions(conn)
        ]
    return JSONResponse({"max": 10000, "unreadcounts": counts})


def _stream_query(
    stream_id: str, ot: int | None
) -> Response | tuple[reader.Stream, datetime | None]:
    """The stream a client names and its `ot` (oldest time), or the error answer."""
    stream = reader.resolve_stream(stream_id)
    if stream is None:
        return JSONResponse({"error": "unknown stream"}, status_code=404)
    try:
        return stream, datetime.fromtimestamp(ot, UTC) if ot else None
    except (OverflowError, OSError, ValueError):
        return JSONResponse({"error": "ot must be a time in Unix seconds"}, status_code=400)


def _page(
    conn: Connection, stream: reader.Stream, since: datetime | None, auth: Reader, n: int,
    c: str | None, xt: str | None,
) -> tuple[list[tuple[int, datetime]], str | None]:  # fmt: skip
    return reader.stream_page(
        conn, stream, n=max(1, min(n, MAX_ITEMS)), continuation=c,
        exclude_read=xt == reader.READ, since=since, user_id=auth.user_id,
    )  # fmt: skip


def _stream_args(
    request: Request, auth: Reader, stream_id: str, n: int, c: str | None, xt: str | None,
    ot: int | None,
) -> Response | tuple[list[tuple[int, datetime]], str | None]:  # fmt: skip
    query = _stream_query(stream_id, ot)
    if isinstance(query, Response):
        return query
    try:
        with database(request).read() as conn:
            return _page(conn, *query, auth, n, c, xt)
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)


@router.get(
    API + "/stream/contents/{stream_id:path}", summary="Stories of a stream", responses=STREAM
)
def stream_contents(
    request: Request, stream_id: str, n: int = 20, c: str | None = None,
    xt: str | None = None, ot: int | None = None,
) -> Response:  # fmt: skip
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    query = _stream_query(stream_id or reader.READING_LIST, ot)
    if isinstance(query, Response):
        return query
    base = base_url(request)

    def read() -> tuple[bytes, str | None]:
        rows, continuation = _page(conn, *query, auth, n, c, xt)
        items = reader.reader_items(conn, [i for i, _ in rows], base, auth.user_id)
        return _json(items), continuation

    key = ("reader stream", stream_id, n, c, xt, ot, base, auth.user_id)
    try:
        with database(request).read() as conn:
            # the page and its stories' JSON, kept until the database changes (a mark is a write)
            items, continuation = memoized(conn, key, read)
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    # the bytes JSONResponse would write
    body = (
        b'{"id":' + _json(stream_id) + b',"updated":%d,"items":' % int(time.time()) + items
        + (b',"continuation":' + _json(continuation) if continuation else b"") + b"}"
    )  # fmt: skip
    return Response(body, media_type="application/json")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@router.get(f"{API}/stream/items/ids", summary="Ids of a stream's stories", responses=STREAM)
def stream_item_ids(
    request: Request, s: str = reader.READING_LIST, n: int = 20, c: str | None = None,
    xt: str | None = None, ot: int | None = None,
) -> Response:  # fmt: skip
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    page = _stream_args(request, auth, s, n, c, xt, ot)
    if isinstance(page, Response):
        return page
    rows, continuation = page
    body: dict[str, object] = {"itemRefs": [{"id": str(i)} for i, _ in rows]}
    if continuation:
        body["continuation"] = continuation
    return JSONResponse(body)


@router.post(f"{API}/stream/items/contents", summary="Stories by id")
async def items_contents(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    form = await request.form()
    ids = [reader.parse_item_id(str(v)) for v in form.getlist("i")]
    with database(request).read() as conn:
        known = [i for i in ids if i is not None]
        items = reader.reader_items(conn, known, base_url(request), auth.user_id)
    return JSONResponse({"id": "user/-/state/com.google/reading-list", "items": items})


@router.post(f"{API}/edit-tag", summary="Mark stories read/unread, starred/unstarred", **TEXT)
async def edit_tag(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    form = await request.form()
    if not hmac.compare_digest(str(form.get("T", "")), _edit_token(auth.token)):
        return PlainTextResponse(
            "Unauthorized\n", status_code=401, headers={"X-Reader-Google-Bad-Token": "true"}
        )
    ids = [reader.parse_item_id(str(v)) for v in form.getlist("i")]
    add = [str(v) for v in form.getlist("a")]
    remove = [str(v) for v in form.getlist("r")]
    known = [i for i in ids if i is not None]
    await database(request).write(lambda conn: reader.mark(conn, known, add, remove, auth.user_id))
    return PlainTextResponse("OK")


@router.get(
    "/reader/atom/{stream_id:path}",
    summary="Stories of a stream as Google Reader Atom (FeedHQ clients, newsboat)",
    responses={
        **STREAM,
        200: answer("Atom with Google Reader's extensions", "application/atom+xml"),
    },
    response_class=Response,
)
def stream_atom(
    request: Request, stream_id: str, n: int = 20, c: str | None = None,
    xt: str | None = None, ot: int | None = None,
) -> Response:  # fmt: skip
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    stream_id = stream_id or reader.READING_LIST
    page = _stream_args(request, auth, stream_id, n, c, xt, ot)
    if isinstance(page, Response):
        return page
    rows, continuation = page
    base = base_url(request)
    with database(request).read() as conn:
        items = reader.reader_items(conn, [i for i, _ in rows], base, auth.user_id)
        title = reader.stream_title(conn, stream_id)
    body = reader.atom(stream_id, title, items, continuation)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.post(f"{API}/mark-all-as-read", summary="Mark a whole stream read", **TEXT)
async def mark_all_as_read(request: Request) -> Response:
    """`s` the stream, `ts` (microseconds) the newest story the app had shown: later ones stay
    unread."""
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    form = await request.form()
    if not hmac.compare_digest(str(form.get("T", "")), _edit_token(auth.token)):
        return PlainTextResponse(
            "Unauthorized\n", status_code=401, headers={"X-Reader-Google-Bad-Token": "true"}
        )
    stream = reader.resolve_stream(str(form.get("s", reader.READING_LIST)))
    if stream is None:
        return JSONResponse({"error": "unknown stream"}, status_code=404)
    before = None
    ts = str(form.get("ts", ""))
    if ts.isdigit() and len(ts) <= 20:
        try:
            before = datetime.fromtimestamp(int(ts) / 1_000_000, UTC)
        except (OverflowError, OSError, ValueError):
            return JSONResponse({"error": "ts must be a time in microseconds"}, status_code=400)
    await database(request).write(
        lambda conn: reader.mark_all_read(conn, stream, before, auth.user_id)
    )
    return PlainTextResponse("OK")


@router.get(
    "/subscriptions.opml",
    summary="OPML export of the desk's subscriptions",
    responses={200: answer("OPML 2.0", "text/x-opml")},
    response_class=Response,
)
def opml_export(request: Request) -> Response:
    with database(request).read() as conn:
        body = reader.opml(conn, base_url(request))
    disposition = {"Content-Disposition": 'attachment; filename="newsdesk.opml"'}
    return Response(body, media_type="text/x-opml; charset=utf-8", headers=disposition)
