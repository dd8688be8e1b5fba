"""Reader pages for events: the hot list and one event with its coverage."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from newsdesk.publish.events import get_event, hot_events
from newsdesk.web.deps import database, render, settings

router = APIRouter()


@router.get("/events", response_class=HTMLResponse, summary="Hot events by heat")
def events_page(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        events = hot_events(conn, limit=50, tz=settings(request).timezone)
    return render(request, "events.html", heading="Events", active="events", events=events)


@router.get("/events/{event_id}", response_class=HTMLResponse, summary="One event")
def event_page(request: Request, event_id: int) -> HTMLResponse:
    with database(request).read() as conn:
        event = get_event(conn, event_id, tz=settings(request).timezone)
    if event is None:
        # deps.render takes `status` as the HTTP code, so the template's own `status` goes here
        templates = request.app.state.templates
        return templates.TemplateResponse(  # type: ignore[no-any-return]
            request, "error.html", {"status": 404, "message": "No such event."}, status_code=404
        )
    return render(request, "event.html", heading=event["title"]["en"] or "Event", e=event)
