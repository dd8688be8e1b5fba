"""The web desk: server-rendered pages and API v1, reading only through `publish`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from newsdesk import __version__
from newsdesk.config import Settings
from newsdesk.publish.read import (
    HOT_TIERS,
    PUBLIC_TIERS,
    BadRequest,
    api_item,
    get_card,
    group_by_day,
    list_cards,
)
from newsdesk.store.db import Database

HERE = Path(__file__).parent


def create_app(settings: Settings, db: Database) -> FastAPI:
    app = FastAPI(
        title="newsdesk",
        version=__version__,
        docs_url="/api/v1/docs",
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    tz = settings.timezone

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def feed_page(
        request: Request, heading: str, tiers: tuple[str, ...], **filters: Any
    ) -> HTMLResponse:
        try:
            with db.read() as conn:
                result = list_cards(conn, tiers=tiers, tz=tz, **filters)
        except BadRequest as exc:
            return page(request, "error.html", 400, status=400, message=str(exc))
        kept = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
        return page(
            request,
            "feed.html",
            heading=heading,
            days=group_by_day(result.cards),
            next_cursor=result.next_cursor,
            query_string=urlencode(kept),
            filters={k: v for k, v in filters.items() if v and k in ("tag", "source", "q")},
        )

    @app.get("/", response_class=HTMLResponse, summary="Hot: p1 and featured stories")
    def hot(
        request: Request,
        tag: str | None = None,
        source: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
    ) -> HTMLResponse:
        return feed_page(request, "Hot", HOT_TIERS, tag=tag, source=source, q=q, cursor=cursor)

    @app.get("/all", response_class=HTMLResponse, summary="Every public story")
    def all_stories(
        request: Request,
        tag: str | None = None,
        source: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
    ) -> HTMLResponse:
        return feed_page(
            request, "All stories", PUBLIC_TIERS, tag=tag, source=source, q=q, cursor=cursor
        )

    @app.get("/items/{item_id}", response_class=HTMLResponse, summary="One story")
    def item_page(request: Request, item_id: int) -> HTMLResponse:
        with db.read() as conn:
            card = get_card(conn, item_id, tz=tz)
        if card is None:
            return page(request, "error.html", 404, status=404, message="No such story.")
        return page(request, "item.html", card=card)

    @app.get("/api/v1/items", summary="Public stories, newest first")
    def api_items(
        tier: Annotated[list[str] | None, Query()] = None,
        tag: str | None = None,
        source: str | None = None,
        q: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> JSONResponse:
        tiers = tuple(x for value in tier or [] for x in value.split(",") if x) or PUBLIC_TIERS
        try:
            with db.read() as conn:
                result = list_cards(
                    conn, tiers=tiers, tag=tag, source=source, q=q, limit=limit, cursor=cursor,
                    tz=tz,
                )  # fmt: skip
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(
            {"items": [api_item(c) for c in result.cards], "next_cursor": result.next_cursor}
        )

    @app.get("/api/v1/items/{item_id}", summary="One public story")
    def api_one(item_id: int) -> JSONResponse:
        with db.read() as conn:
            card = get_card(conn, item_id, tz=tz)
        if card is None:
            return JSONResponse({"error": "no such story"}, status_code=404)
        return JSONResponse(api_item(card))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return Response("ok", media_type="text/plain")

    return app
