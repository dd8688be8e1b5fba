"""Reader pages: Hot, All, one story."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from newsdesk.publish.read import (
    HOT_TIERS,
    PUBLIC_TIERS,
    BadRequest,
    get_card,
    group_by_day,
    list_cards,
)
from newsdesk.web.deps import database, render, settings

router = APIRouter()
FILTER_LABELS = {"tag": "#{}", "source": "source {}", "q": "“{}”"}


def feed_page(
    request: Request, heading: str, active: str, tiers: tuple[str, ...], **filters: Any
) -> HTMLResponse:
    try:
        with database(request).read() as conn:
            result = list_cards(conn, tiers=tiers, tz=settings(request).timezone, **filters)
    except BadRequest as exc:
        return render(request, "error.html", 400, status=400, message=str(exc))
    kept = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    active_filter = ", ".join(
        FILTER_LABELS[k].format(v) for k, v in filters.items() if v and k in FILTER_LABELS
    )
    return render(
        request,
        "feed.html",
        heading=heading,
        active=active,
        days=group_by_day(result.cards),
        next_cursor=result.next_cursor,
        query_string=urlencode(kept),
        active_filter=active_filter,
        clear_url=request.url.path,
    )


@router.get("/", response_class=HTMLResponse, summary="Hot: p1 and featured stories")
def hot(
    request: Request,
    tag: str | None = None,
    source: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    return feed_page(request, "Hot", "hot", HOT_TIERS, tag=tag, source=source, q=q, cursor=cursor)


@router.get("/all", response_class=HTMLResponse, summary="Every public story")
def all_stories(
    request: Request,
    tag: str | None = None,
    source: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    return feed_page(
        request, "All stories", "all", PUBLIC_TIERS, tag=tag, source=source, q=q, cursor=cursor
    )


@router.get("/items/{item_id}", response_class=HTMLResponse, summary="One story")
def item_page(request: Request, item_id: int) -> HTMLResponse:
    with database(request).read() as conn:
        card = get_card(conn, item_id, tz=settings(request).timezone)
    if card is None:
        return render(request, "error.html", 404, status=404, message="No such story.")
    return render(request, "item.html", c=card)
