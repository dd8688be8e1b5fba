"""The web desk: one FastAPI app; each area of the site is a router in its own module.

Routers find the settings, the database and the templates on `request.app.state`, and read
stories only through `newsdesk.publish`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from newsdesk import __version__
from newsdesk.config import DEMO_AS_OF, Settings, load_settings
from newsdesk.lifeline import exit_with
from newsdesk.store.db import Database, StorageFailure
from newsdesk.web import (
    access,
    agents,
    api,
    api_outputs,
    edge,
    events_api,
    events_pages,
    feeds,
    greader,
    ingest,
    mcp,
    metrics,
    openapi,
    pages,
    reader,
    reports,
)
from newsdesk.web.deps import PageMemo

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


def create_app(settings: Settings, db: Database) -> FastAPI:
    app = FastAPI(
        title="newsdesk",
        version=__version__,
        docs_url="/api/v1/docs",
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    # every page of the demo says whose clock it reads (base.html's banner)
    app.state.templates.env.globals["demo_as_of"] = demo_label(settings) if settings.demo else ""
    app.state.page_memo = PageMemo()  # pages rendered from the same cards and filters
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(ingest.router)
    app.include_router(events_api.router)
    app.include_router(events_pages.router)
    app.include_router(api_outputs.router)  # outputs (issue 7): API additions, feeds, reports
    app.include_router(feeds.router)
    app.include_router(reports.router)
    app.include_router(agents.router)
    app.include_router(greader.router)
    app.include_router(metrics.router)  # Prometheus text format for the operator
    mcp.install(app, settings, db)
    access.install(app, settings)
    reader.install(app)  # the reader's pages, editor actions, sign-in and admin
    openapi.install(app)  # the answers middleware gives, declared on the routes it guards
    app.add_middleware(edge.Edge)  # added last, so outermost: HEAD runs as GET in every layer

    @app.exception_handler(StorageFailure)
    async def storage_failed(request: Request, exc: StorageFailure) -> Response:
        # a full disk or a database server that went away: say so plainly, never a traceback;
        # the details (and the database's address) go to the log, not to the public
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return PlainTextResponse("the desk's database is unavailable; try again shortly\n",
                                 status_code=503, headers={"Retry-After": "30"})  # fmt: skip

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return Response("ok", media_type="text/plain")

    return app


def demo_label(settings: Settings) -> str:
    """The demo clock (config.DEMO_AS_OF) as the desk's time zone writes it."""
    from zoneinfo import ZoneInfo

    local = DEMO_AS_OF.astimezone(ZoneInfo(settings.timezone))
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


SUPERVISOR_ENV = "NEWSDESK_WEB_SUPERVISOR_PID"  # set by `newsdesk web --workers N`


def create_app_from_env() -> FastAPI:
    """The app of one server process of `newsdesk web --workers N`: settings and a connection
    pool of its own, from the environment (the parent process ran the migrations). It ends
    with its supervisor: a `newsdesk web` killed outright left its servers answering. The
    supervisor names itself (SUPERVISOR_ENV): a process that starts after it died would see
    init as its parent and watch that."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    exit_with(int(supervisor) if supervisor else os.getppid())
    settings = load_settings()
    return create_app(settings, Database(settings.effective_database_url))
