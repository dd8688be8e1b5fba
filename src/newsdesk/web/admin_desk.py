"""Admin pages for the editor's desk work: flagged stories (the faithfulness guard), merge and
split of events (editors and admins; the account is recorded), and adding a source whose test
fetch the runner performs (admins). Every write checks the CSRF token."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsdesk.domain import SOURCE_GROUPS, Source, is_row_id
from newsdesk.publish import admin_desk as views
from newsdesk.store import events as store_events
from newsdesk.store import source_tests, users
from newsdesk.web.admin import TIERS, page
from newsdesk.web.auth import EditorSession, check_csrf, require_admin, require_editor
from newsdesk.web.deps import database
from newsdesk.web.openapi import EDITOR_FORM, http_error

router = APIRouter(prefix="/admin", dependencies=[Depends(require_editor)], responses=EDITOR_FORM)
SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,79}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


@router.get("/flagged", response_class=HTMLResponse)
def admin_flagged(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        stories = views.flagged_stories(conn)
    return page(request, "flagged", "flagged", stories=stories)


@router.get("/events", response_class=HTMLResponse)
def admin_events(request: Request, q: str = "", event: int | None = None) -> HTMLResponse:
    with database(request).read() as conn:
        rows = views.recent_events(conn, q)
        shown = views.event_members(conn, event) if event is not None else None
    if event is not None and shown is None:
        raise HTTPException(404, "no such event")
    return page(request, "events", "events", events=rows, q=q, shown=shown)


def _edit(request: Request, action) -> object:  # type: ignore[no-untyped-def]
    try:
        return database(request).write_sync(action)
    except store_events.EventError as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("/events/merge")
def admin_events_merge(
    request: Request,
    editor: EditorSession = Depends(require_editor),
    csrf: str = Form(""),
    keep: int = Form(...),
    other: int = Form(...),
) -> Response:
    check_csrf(request, editor, csrf)
    if not (is_row_id(keep) and is_row_id(other)):
        raise HTTPException(404, "no such event")
    now = datetime.now(UTC)

    def merge(c):  # type: ignore[no-untyped-def]
        store_events.merge_events(c, keep, other, now)
        users.record(c, editor.user_id, editor.name, "merge", f"{keep}<-{other}", now,
                     {"keep": keep, "other": other})  # fmt: skip

    _edit(request, merge)
    return RedirectResponse(f"/admin/events?event={keep}", status_code=303)


@router.post("/events/{event_id}/split")
def admin_events_split(
    request: Request,
    event_id: int,
    editor: EditorSession = Depends(require_editor),
    csrf: str = Form(""),
    item: int = Form(...),
) -> Response:
    check_csrf(request, editor, csrf)
    if not (is_row_id(event_id) and is_row_id(item)):
        raise HTTPException(404, "no such event or story")
    now = datetime.now(UTC)

    def split(c):  # type: ignore[no-untyped-def]
        new = store_events.split_item(c, event_id, item, now)
        users.record(c, editor.user_id, editor.name, "split", f"{event_id}:{item}", now,
                     {"event": event_id, "item": item, "new_event": new})  # fmt: skip
        return new

    new_id = _edit(request, split)
    return RedirectResponse(f"/admin/events?event={new_id}", status_code=303)


@router.post("/sources/new", responses={409: http_error("A source with that id exists")})
def admin_source_add(
    request: Request,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
    id: str = Form(...),
    name: str = Form(...),
    url: str = Form(...),
    group: str = Form("media"),
    language: str = Form("en"),
    tier: str = Form("T2"),
) -> Response:
    """Store the source disabled with status "testing"; the runner's next pass fetches it."""
    check_csrf(request, editor, csrf)
    source_id, name, url = id.strip().lower(), name.strip(), url.strip()
    if not SOURCE_ID.match(source_id):
        raise HTTPException(400, "id must be 2 to 80 lower-case letters, digits, - or _")
    if not 0 < len(name) <= 200:
        raise HTTPException(400, "name must be 1 to 200 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise HTTPException(400, "url must be an http:// or https:// address")
    if group not in SOURCE_GROUPS:
        raise HTTPException(400, f"group must be one of {', '.join(SOURCE_GROUPS)}")
    if tier not in TIERS:
        raise HTTPException(400, f"tier must be one of {', '.join(TIERS)}")
    if not LANGUAGE.match(language.strip()):
        raise HTTPException(400, "language must be a code such as en or zh")
    defaults = Source(id=source_id, name=name, url=url)
    values = {
        "id": source_id, "name": name, "name_zh": "", "url": url, "kind": "rss",
        "group_name": group, "language": language.strip(), "tier": tier,
        "cadence_min": defaults.cadence_min, "cadence_max": defaults.cadence_max,
        "tags": [], "notes": "added in the admin pages", "options": {},
    }  # fmt: skip
    now = datetime.now(UTC)

    def add(c):  # type: ignore[no-untyped-def]
        source_tests.add_testing_source(c, values, now)
        users.record(c, editor.user_id, editor.name, "source_add", source_id, now, {"url": url})

    try:
        database(request).write_sync(add)
    except source_tests.SourceExists as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse("/admin/sources#tests", status_code=303)


@router.post("/sources/{source_id}/retest")
def admin_source_retest(
    request: Request,
    source_id: str,
    editor: EditorSession = Depends(require_admin),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, editor, csrf)
    if not database(request).write_sync(lambda c: source_tests.request_retest(c, source_id)):
        raise HTTPException(404, "no tested, still disabled source with that id")
    return RedirectResponse("/admin/sources#tests", status_code=303)
