"""API v1 for events: one event with its coverage, and the hottest events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from newsdesk.publish.events import api_event, get_event, hot_events
from newsdesk.web.deps import database, settings

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/hot", summary="Top events by heat, with markers and lead story")
def api_hot(request: Request, limit: Annotated[int, Query(ge=1, le=100)] = 30) -> JSONResponse:
    with database(request).read() as conn:
        events = hot_events(conn, limit=limit, tz=settings(request).timezone)
    return JSONResponse({"events": [api_event(e, with_members=False) for e in events]})


@router.get("/events/{event_id}", summary="One event: lead, members with relations, coverage")
def api_one_event(request: Request, event_id: int) -> JSONResponse:
    with database(request).read() as conn:
        event = get_event(conn, event_id, tz=settings(request).timezone)
    if event is None:
        return JSONResponse({"error": "no such event"}, status_code=404)
    return JSONResponse(api_event(event))
