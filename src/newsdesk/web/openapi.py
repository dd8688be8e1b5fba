"""What the OpenAPI document at /api/v1/openapi.json promises beyond what FastAPI infers.

Routers declare their own answers with the constants below (`responses=`); `install` adds the
answers that middleware gives on every route it guards: the edge's 400 for a NUL in a URL, and
the API's read token (401) and rate limit (429). tests/outputs/test_openapi_fuzz.py runs
schemathesis over the whole document, so an answer the code gives and the document does not
declare fails the suite.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import PlainTextResponse

from newsdesk.web import access

Answers = dict[int | str, dict[str, Any]]

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
DETAIL = {"type": "object", "required": ["detail"], "properties": {"detail": {}}}
BASE64URL = r"^[A-Za-z0-9_-]+={0,2}$"  # what encode_cursor writes
CURSOR = {"pattern": BASE64URL, "max_length": 300, "description": "next_cursor of the last page"}
DAY = r"^\d{4}-\d{2}-\d{2}$"
MARKDOWN = "text/markdown"
FEED_TYPES = ("application/rss+xml", "application/feed+json")


class MarkdownResponse(PlainTextResponse):
    media_type = MARKDOWN


def answer(description: str, *media: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"description": description}
    if media:
        found["content"] = {m: ({"schema": schema} if schema else {}) for m in media}
    return found


def json_error(description: str) -> dict[str, Any]:
    return answer(description, "application/json", schema=ERROR)


def http_error(description: str) -> dict[str, Any]:
    """An HTTPException's answer: FastAPI's {"detail": ...}."""
    return answer(description, "application/json", schema=DETAIL)


NOT_FOUND_JSON: Answers = {404: json_error("Nothing public has that id or period")}
NOT_FOUND_HTML: Answers = {404: answer("Nothing public has that id or period", "text/html")}
BAD_REQUEST_JSON: Answers = {400: json_error("A filter or cursor this desk cannot use")}
BAD_REQUEST_HTML: Answers = {400: answer("A filter or cursor this desk cannot use", "text/html")}
FEED: Answers = {
    200: answer("RSS 2.0 at .xml, JSON Feed 1.1 at .json", *FEED_TYPES),
    304: answer("Unchanged since the ETag (If-None-Match) or date (If-Modified-Since) sent"),
}
MARKDOWN_PAGE: Answers = {
    404: answer("Nothing public has that id or period", "text/plain", MARKDOWN),
}
SIGNED_IN: Answers = {
    303: answer("Not signed in: a page asked for as HTML goes to /signin"),
    401: answer("Not signed in (fragments, JSON and forms)", "text/plain"),
}
EDITOR_FORM: Answers = {
    **SIGNED_IN,
    303: answer("Done, or not signed in: back to a page"),
    400: http_error("A form value this desk cannot use"),
    403: http_error("The form's CSRF token is missing or wrong"),
    404: http_error("No such story, event, source or policy version"),
}
# Sign-in and sign-out (web/auth.py): declared here to keep that module about sessions.
SIGN_IN: dict[tuple[str, str], Answers] = {
    ("get", "/signin"): {401: answer("The form again, saying the password was wrong", "text/html")},
    ("post", "/signin"): {
        303: answer("Signed in: on to `next`"),
        401: answer("The form again, saying the password was wrong", "text/html"),
        403: http_error("The sign-in form expired"),
        429: answer("Too many failed sign-ins: wait Retry-After seconds", "text/html"),
    },
    ("post", "/signout"): {
        **SIGNED_IN,
        303: answer("Signed out, or not signed in: to a page"),
        403: http_error("The form's CSRF token is missing or wrong"),
    },
}
READER_APP: Answers = {
    401: answer("No or a wrong GoogleLogin Auth token", "text/plain"),
    404: answer("The reader API is off (no NEWSDESK_READER_PASSWORD)", "text/plain"),
}


def install(app: FastAPI) -> None:
    """Serve the document with the middleware's answers added to every route they guard."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                for status, extra in SIGN_IN.get((method, path), {}).items():
                    merge(operation["responses"], str(status), extra)
                add_middleware_answers(path, operation["responses"])
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def add_middleware_answers(path: str, responses: dict[str, Any]) -> None:
    merge(responses, "400", json_error("The URL holds a NUL (%00) character"))
    if not path.startswith(access.GUARDED):
        return
    if path not in access.NO_READ_TOKEN:
        merge(responses, "401", json_error("NEWSDESK_API_READ_TOKEN is set and not sent"))
    if path not in access.OPEN:
        limited = json_error("Over NEWSDESK_API_RATE_LIMIT requests a minute")
        limited["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "required": True}}
        merge(responses, "429", limited)


def merge(responses: dict[str, Any], status: str, extra: dict[str, Any]) -> None:
    """Add an answer; where the route declares the status already, add the media types."""
    have = responses.setdefault(status, {"description": extra["description"]})
    for media, body in extra.get("content", {}).items():
        known = have.setdefault("content", {}).setdefault(media, body)
        if known is not body and "schema" in known and known["schema"] != body.get("schema"):
            known["schema"] = {"anyOf": [known["schema"], body.get("schema", {})]}
    for name, header in extra.get("headers", {}).items():
        have.setdefault("headers", {}).setdefault(name, header)
