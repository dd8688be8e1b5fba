"""Reader pages for events: the hot list and one event with its coverage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from newsdesk.publish import agents
from newsdesk.publish.events import get_event, heat_scale, heat_scale_words, hot_events
from newsdesk.publish.following import follow_pairs
from newsdesk.publish.memo import memoized
from newsdesk.publish.related import related
from newsdesk.store import follows
from newsdesk.web.deps import (
    current_editor,
    database,
    event_clock,
    frozen,
    person_follows,
    render,
    settings,
)
from newsdesk.web.feeds import base_url
from newsdesk.web.openapi import MARKDOWN_PAGE, NOT_FOUND_HTML, MarkdownResponse

router = APIRouter()


@router.get("/events", response_class=HTMLResponse, summary="Hot events by heat")
def events_page(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        events = hot_events(conn, limit=50, tz=settings(request).timezone, **event_clock(request))
        scale = heat_scale_words(heat_scale(conn))
    return render(
        request, "events.html", heading="Events", active="events", events=events, scale=scale
    )


# Declared before the HTML page so "/events/7.md" is not read as an event id.
@router.get(
    "/events/{event_id}.md",
    response_class=MarkdownResponse,
    summary="Event as Markdown",
    responses=MARKDOWN_PAGE,
)
def event_markdown(request: Request, event_id: int) -> PlainTextResponse:
    with database(request).read() as conn:
        event = get_event(conn, event_id, tz=settings(request).timezone, **event_clock(request))
    base = base_url(request)
    if event is None:
        return PlainTextResponse(
            f"No public event has id {event_id}.\n", status_code=404, media_type=agents.MARKDOWN
        )
    return PlainTextResponse(agents.event_page_md(event, base) + "\n", media_type=agents.MARKDOWN)


@router.get(
    "/events/{event_id}", response_class=HTMLResponse, summary="One event", responses=NOT_FOUND_HTML
)
def event_page(request: Request, event_id: int) -> HTMLResponse:
    me = current_editor(request)  # before the page's connection (see pages.feed_page)
    follow_state: bool | None = None
    tz = settings(request).timezone
    clock = event_clock(request)  # the demo desk's clock stands still; the real one moves

    def read() -> tuple[Any, Any]:
        event = get_event(conn, event_id, tz=tz, **clock)
        lead = (event or {}).get("lead") or {}
        return event, (related(conn, lead["id"], tz=tz, now=clock["now"]) if lead else [])

    with database(request).read() as conn:
        # the event is kept until the database changes; the reader's own marks are read after
        event, near = memoized(conn, ("event page", event_id, tz, clock["backfill_counts"]), read)
        if me is not None:
            follow_state = follows.event_marks(conn, me.user_id, [event_id]).get(event_id)
        following = person_follows(conn, me)
    if event is None:
        # deps.render takes `status` as the HTTP code, so the template's own `status` goes here
        templates = request.app.state.templates
        return templates.TemplateResponse(  # type: ignore[no-any-return]
            request, "error.html", {"status": 404, "message": "No such event."}, status_code=404
        )
    # the event as read now (lead card by version, members, ages, markers) and its related
    # stories are the page's key
    if follow_state is not None:  # looked at now: the marker stays until something new joins
        now = datetime.now(UTC)
        database(request).write_sync(lambda c: follows.seen(c, me.user_id, now, event_id=event_id))
    return render(
        request,
        "event.html",
        memo=(frozen(event), frozen(near), follow_state, following),
        heading=event["title"]["en"] or "Event",
        e=event,
        related=near,
        follow_state=follow_state,
        # beside the event: what its lead story names, and its source
        lead_follows=follow_pairs(event["lead"]) if event.get("lead") else [],
        following=following,
    )
