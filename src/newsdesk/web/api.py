"""API v1: JSON over the public read layer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from newsdesk.publish.memo import memoized
from newsdesk.publish.read import (
    PUBLIC_TIERS,
    BadRequest,
    api_item,
    api_items_json,
    get_card,
    list_cards,
)
from newsdesk.web.deps import MAX_KEPT_QUERY, database, settings
from newsdesk.web.openapi import BAD_REQUEST_JSON, CURSOR, NOT_FOUND_JSON

router = APIRouter(prefix="/api/v1", tags=["items"])
JSON = "application/json"
# One tier or several joined by commas ("p1,featured"); the parameter may repeat.
TIERS = r"^((p1|featured|all)(,(p1|featured|all))*)?$"
TierList = list[Annotated[str, Field(pattern=TIERS)]]


@router.get("/items", summary="Public stories, newest first", responses=BAD_REQUEST_JSON)
def api_items(
    request: Request,
    tier: Annotated[TierList | None, Query(description="p1, featured or all; repeatable")] = None,
    tag: str | None = None,
    source: str | None = None,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(**CURSOR)] = None,
) -> Response:
    tiers = tuple(x for value in tier or [] for x in value.split(",") if x) or PUBLIC_TIERS
    tz = settings(request).timezone

    def read() -> bytes:
        result = list_cards(conn, tiers=tiers, tag=tag, source=source, q=q, limit=limit,
                            cursor=cursor, tz=tz)  # fmt: skip
        return api_items_json(result.cards, result.next_cursor)

    try:
        with database(request).read() as conn:
            # the answer's bytes, kept until the database changes (a search's too)
            body = read() if len(q or "") > MAX_KEPT_QUERY else memoized(
                conn, ("api items", tiers, tag, source, q, limit, cursor, tz), read
            )  # fmt: skip
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return Response(body, media_type=JSON)


@router.get("/items/{item_id}", summary="One public story", responses=NOT_FOUND_JSON)
def api_one(request: Request, item_id: int) -> JSONResponse:
    with database(request).read() as conn:
        card = get_card(conn, item_id, tz=settings(request).timezone)
    if card is None:
        return JSONResponse({"error": "no such story"}, status_code=404)
    return JSONResponse(api_item(card))
