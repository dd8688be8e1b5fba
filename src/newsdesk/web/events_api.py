"""API v1 for events: the list (newest or by heat), one event with its coverage, hot events."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from newsdesk.publish.events import (
    api_event,
    api_heat_scale,
    get_event,
    heat_scale,
    hot_events,
    list_events,
)
from newsdesk.publish.read import BadRequest
from newsdesk.web.deps import database, event_clock, settings
from newsdesk.web.openapi import BAD_REQUEST_JSON, CURSOR, NOT_FOUND_JSON

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/hot", summary="Top events by heat, with markers and lead story")
def api_hot(request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 30) -> JSONResponse:
    with database(request).read() as conn:
        events = hot_events(
            conn, limit=limit, tz=settings(request).timezone, **event_clock(request)
        )
        scale = heat_scale(conn)
    return JSONResponse({
        "events": [api_event(e, with_members=False) for e in events],
        "heat_scale": api_heat_scale(scale),  # what the heat and markers were computed on
    })  # fmt: skip


@router.get(
    "/events",
    summary="Public events, newest report first or hottest first",
    responses=BAD_REQUEST_JSON,
)
def api_events(
    request: Request,
    order: Annotated[Literal["newest", "heat"], Query(description="newest or heat")] = "newest",
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
    cursor: Annotated[str | None, Query(**CURSOR)] = None,
) -> JSONResponse:
    try:
        with database(request).read() as conn:
            page = list_events(
                conn, order=order, limit=limit, cursor=cursor, tz=settings(request).timezone,
                **event_clock(request),
            )  # fmt: skip
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(
        {
            "events": [api_event(e, with_members=False) for e in page.events],
            "next_cursor": page.next_cursor,
        }
    )


@router.get(
    "/events/{event_id}",
    summary="One event: lead, members with relations, coverage",
    responses=NOT_FOUND_JSON,
)
def api_one_event(request: Request, event_id: int) -> JSONResponse:
    with database(request).read() as conn:
        event = get_event(conn, event_id, tz=settings(request).timezone, **event_clock(request))
    if event is None:
        return JSONResponse({"error": "no such event"}, status_code=404)
    return JSONResponse(api_event(event))
