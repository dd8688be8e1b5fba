"""The Google Reader API subset reader apps use (NetNewsWire, Reeder, FeedMe), plus OPML.

ClientLogin trades NEWSDESK_READER_USER / NEWSDESK_READER_PASSWORD for an Auth token (an HMAC
of the user under the password, so nothing is stored and changing the password revokes it);
apps then send `Authorization: GoogleLogin auth=TOKEN`. Edits also need the short T token from
/reader/api/0/token. With no password configured the API answers 404: it is off.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from newsdesk.publish import reader
from newsdesk.publish.read import BadRequest
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


def _auth_token(request: Request) -> str | None:
    s = settings(request)
    password = s.reader_password.get_secret_value()
    if not password:
        return None
    digest = hmac.new(password.encode(), s.reader_user.encode(), hashlib.sha256).hexdigest()
    return f"{s.reader_user}/{digest}"


def _edit_token(auth: str) -> str:
    return hashlib.sha256(("edit:" + auth).encode()).hexdigest()[:57]


def _check(request: Request) -> Response | str:
    """The Auth token when the request carries it, else the error answer."""
    expected = _auth_token(request)
    if expected is None:
        return PlainTextResponse("the reader API is off\n", status_code=404)
    header = request.headers.get("authorization", "")
    given = header.split("auth=", 1)[1].strip() if "auth=" in header else ""
    if not hmac.compare_digest(given, expected):
        return PlainTextResponse("Unauthorized\n", status_code=401)
    return expected


@router.post(
    "/accounts/ClientLogin",
    summary="Log in a reader app",
    responses={429: answer("Too many failed logins: wait Retry-After seconds", "text/plain")},
    **TEXT,
)
def client_login(
    request: Request, Email: Annotated[str, Form()] = "", Passwd: Annotated[str, Form()] = ""
) -> Response:
    s = settings(request)
    token = _auth_token(request)
    if token is None:
        return PlainTextResponse("the reader API is off\n", status_code=404)
    # the account is the name given, known or not, so a lock says nothing about which exist
    attempt = throttle.attempt_keys(request, f"reader:{Email}")
    wait = throttle.try_now(request, attempt)
    if wait:
        return PlainTextResponse("Error=TooManyAttempts\n", status_code=429,
                                 headers=throttle.retry_after(wait))  # fmt: skip
    expected = s.reader_password.get_secret_value().encode()
    password_ok = hmac.compare_digest(Passwd.encode(), expected)  # bytes: any text compares
    if Email != s.reader_user or not password_ok:
        return PlainTextResponse("Error=BadAuthentication\n", status_code=401)
    throttle.passed(request, attempt)
    return PlainTextResponse(f"SID={token}\nLSID={token}\nAuth={token}\n")


@router.get(f"{API}/token", summary="Edit token", **TEXT)
def edit_token(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    return PlainTextResponse(_edit_token(auth))


@router.get(f"{API}/user-info", summary="The reader account")
def user_info(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    user = settings(request).reader_user
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
            {"id": sub.feed_id(base), "count": reader.unread(conn, sub.stream)}
            for sub in reader.subscriptions(conn)
        ]
    return JSONResponse({"max": 10000, "unreadcounts": counts})


def _stream_args(
    request: Request, stream_id: str, n: int, c: str | None, xt: str | None, ot: int | None
) -> Response | tuple[list[tuple[int, datetime]], str | None]:
    stream = reader.resolve_stream(stream_id)
    if stream is None:
        return JSONResponse({"error": "unknown stream"}, status_code=404)
    try:
        since = datetime.fromtimestamp(ot, UTC) if ot else None
    except (OverflowError, OSError, ValueError):
        return JSONResponse({"error": "ot must be a time in Unix seconds"}, status_code=400)
    try:
        with database(request).read() as conn:
            return reader.stream_page(
                conn, stream, n=max(1, min(n, MAX_ITEMS)), continuation=c,
                exclude_read=xt == reader.READ, since=since,
            )  # fmt: skip
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
    page = _stream_args(request, stream_id or reader.READING_LIST, n, c, xt, ot)
    if isinstance(page, Response):
        return page
    rows, continuation = page
    with database(request).read() as conn:
        items = reader.reader_items(conn, [i for i, _ in rows], base_url(request))
    body = {"id": stream_id, "updated": int(datetime.now(UTC).timestamp()), "items": items}
    if continuation:
        body["continuation"] = continuation
    return JSONResponse(body)


@router.get(f"{API}/stream/items/ids", summary="Ids of a stream's stories", responses=STREAM)
def stream_item_ids(
    request: Request, s: str = reader.READING_LIST, n: int = 20, c: str | None = None,
    xt: str | None = None, ot: int | None = None,
) -> Response:  # fmt: skip
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    page = _stream_args(request, s, n, c, xt, ot)
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
        items = reader.reader_items(conn, [i for i in ids if i is not None], base_url(request))
    return JSONResponse({"id": "user/-/state/com.google/reading-list", "items": items})


@router.post(f"{API}/edit-tag", summary="Mark stories read/unread, starred/unstarred", **TEXT)
async def edit_tag(request: Request) -> Response:
    auth = _check(request)
    if isinstance(auth, Response):
        return auth
    form = await request.form()
    if not hmac.compare_digest(str(form.get("T", "")), _edit_token(auth)):
        return PlainTextResponse(
            "Unauthorized\n", status_code=401, headers={"X-Reader-Google-Bad-Token": "true"}
        )
    ids = [reader.parse_item_id(str(v)) for v in form.getlist("i")]
    add = [str(v) for v in form.getlist("a")]
    remove = [str(v) for v in form.getlist("r")]
    known = [i for i in ids if i is not None]
    await database(request).write(lambda conn: reader.mark(conn, known, add, remove))
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
