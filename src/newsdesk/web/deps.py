"""Small accessors for what a request has: the settings and database `create_app` put on the
app state, and the signed-in editor (sign-in itself is `web/auth.py`, which imports this)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from newsdesk.config import Settings
from newsdesk.store import reader
from newsdesk.store.db import Database

SESSION_COOKIE = "nd_session"
EDITOR_NAME = "editor"  # one shared password, so one editor identity


@dataclass(frozen=True)
class EditorSession:
    csrf: str
    name: str = EDITOR_NAME


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def database(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    # `status` stays free for the template context (error.html shows it)
    context.setdefault("editor", current_editor(request))
    templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)  # type: ignore[no-any-return]


def current_editor(request: Request) -> EditorSession | None:
    """The signed-in editor of this request, looked up once and remembered on the request."""
    if hasattr(request.state, "editor"):
        return request.state.editor  # type: ignore[no-any-return]
    found = None
    token = request.cookies.get(SESSION_COOKIE)
    if token and settings(request).admin_password.get_secret_value():
        with database(request).read() as conn:
            row = reader.find_session(conn, token, datetime.now(UTC))
        if row is not None:
            found = EditorSession(csrf=row.csrf_token)
    request.state.editor = found
    return found
