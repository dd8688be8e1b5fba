"""Small accessors for what `create_app` put on the app state."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from newsdesk.config import Settings
from newsdesk.store.db import Database


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def database(request: Request) -> Database:
    return request.app.state.db  # type: ignore[no-any-return]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    # `status` stays free for the template context (error.html shows it)
    from newsdesk.web.auth import current_editor  # auth imports this module

    context.setdefault("editor", current_editor(request))
    templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)  # type: ignore[no-any-return]
