"""Wires the reader's routers and the signed-out handling into the app (one call in app.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from newsdesk.web import (
    account,
    admin,
    admin_desk,
    admin_users,
    auth,
    cards,
    desk,
    follows,
    pictures,
)
from newsdesk.web.auth import NotAllowed, NotSignedIn, refused, signin_redirect
from newsdesk.web.cache import MicroCache
from newsdesk.web.security import SecurityHeaders

TEMPLATES = Path(__file__).with_name("templates")


def install(app: FastAPI) -> None:
    # Outermost last: cached answers get the security headers too.
    app.add_middleware(MicroCache, ttl=app.state.settings.page_cache_seconds)
    app.add_middleware(SecurityHeaders, base_template=TEMPLATES / "base.html")
    cards.install(app.state.templates.env)  # anonymous cards rendered once, then kept
    pictures.install(app.state.templates.env)  # pictures rendered once per value drawn
    app.include_router(auth.router)
    app.include_router(account.router)
    app.include_router(follows.router)
    app.include_router(desk.router)
    app.include_router(admin_users.router)
    app.include_router(admin_desk.router)  # first: /admin/sources/new is not a source id
    app.include_router(admin.router)

    @app.exception_handler(NotSignedIn)
    def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return signin_redirect(request)

    @app.exception_handler(NotAllowed)
    def _not_allowed(request: Request, exc: NotAllowed) -> Response:
        return refused(request, exc.role)
