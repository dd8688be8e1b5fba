"""The reader's own pages beyond the feed: source health, saved stories (named collections and
a Markdown export, each person's own), and the actions on a card: save ⭐ (any account),
👍 / 👎 with a note (editors and admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from newsdesk.publish.desk import cards_markdown, collections, saved_ids, source_health
from newsdesk.publish.pictures import source_pictures
from newsdesk.publish.read import MAX_LIMIT, get_card, group_by_day, list_cards
from newsdesk.store import reader
from newsdesk.web.auth import check_csrf, require_editor, require_user
from newsdesk.web.deps import database, desk_now, render, settings
from newsdesk.web.openapi import EDITOR_FORM, SIGNED_IN, MarkdownResponse

router = APIRouter()
FEEDBACK_KINDS = {"up": "👍 good", "down": "👎 wrong"}
MAX_NOTE = 2000


@router.get("/sources", response_class=HTMLResponse, summary="Sources and their health")
def sources_page(request: Request) -> HTMLResponse:
    with database(request).read() as conn:
        rows = source_health(conn)
        pictures = source_pictures(conn, desk_now(request), settings(request).timezone)
    return render(request, "sources.html", heading="Sources", active="sources", sources=rows,
                  pictures=pictures)  # fmt: skip


def _collection_name(value: str) -> str:
    name = " ".join(value.split())[:80]
    return name or reader.DEFAULT_COLLECTION


@router.get(
    "/saved", response_class=HTMLResponse, summary="Your saved stories", responses=SIGNED_IN
)
def saved_page(request: Request, collection: str | None = None) -> HTMLResponse:
    me = require_user(request)
    with database(request).read() as conn:
        groups = collections(conn, me.user_id)
        ids = saved_ids(conn, me.user_id, collection)[:MAX_LIMIT]
        cards = list_cards(
            conn, tiers=("p1", "featured", "all"), ids=ids, limit=MAX_LIMIT,
            tz=settings(request).timezone, now=desk_now(request),
        ).cards  # fmt: skip
    return render(
        request, "saved.html", heading="Saved", active="saved", collections=groups,
        collection=collection, days=group_by_day(cards), saved=set(ids),
    )  # fmt: skip


@router.get(
    "/saved/export.md",
    response_class=MarkdownResponse,
    summary="Your saved stories as Markdown",
    responses=SIGNED_IN,
)
def saved_export(request: Request, collection: str | None = None) -> Response:
    me = require_user(request)
    with database(request).read() as conn:
        ids = saved_ids(conn, me.user_id, collection)[:MAX_LIMIT]
        cards = list_cards(
            conn, tiers=("p1", "featured", "all"), ids=ids, limit=MAX_LIMIT,
            tz=settings(request).timezone,
        ).cards  # fmt: skip
    order = {item_id: n for n, item_id in enumerate(ids)}
    cards.sort(key=lambda c: order[c["id"]])
    name = collection or "Saved stories"
    filename = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "saved"
    return PlainTextResponse(
        cards_markdown(name, cards),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.md"'},
    )


def _back(request: Request, item_id: int) -> str:
    # Back to the page the form was on; a foreign or missing Referer goes to the story.
    ref = request.headers.get("referer", "")
    base = str(request.base_url)
    return ref if ref.startswith(base) else f"/items/{item_id}"


def _known_item(request: Request, item_id: int) -> None:
    with database(request).read() as conn:
        if get_card(conn, item_id) is None:
            raise HTTPException(404, "no such story")


@router.post(
    "/items/{item_id}/save",
    summary="Save a story to one of your collections",
    response_class=HTMLResponse,
    responses=EDITOR_FORM,
)
def save(
    request: Request,
    item_id: int,
    csrf: str = Form(""),
    collection: str = Form(""),
    remove: bool = Form(False),
) -> Response:
    editor = require_user(request)
    check_csrf(request, editor, csrf)
    _known_item(request, item_id)
    name, now = _collection_name(collection), datetime.now(UTC)

    def write(conn):  # type: ignore[no-untyped-def]
        if remove:
            reader.unsave_item(conn, editor.user_id, item_id, collection.strip() or None)
        elif reader.save_item(conn, editor.user_id, item_id, name, now) and editor.allows(
            "editor"
        ):  # an editor's star is a signal to the policy loop; a reader's save is private
            reader.add_feedback(conn, item_id, "star", name, editor.name, now, editor.user_id)

    database(request).write_sync(write)
    if request.headers.get("hx-request"):
        return render(
            request, "_save_state.html", item_id=item_id, is_saved=not remove, collection=name
        )
    return RedirectResponse(_back(request, item_id), status_code=303)


@router.post(
    "/items/{item_id}/feedback",
    summary="👍 or 👎 with an optional note (editors)",
    response_class=HTMLResponse,
    responses=EDITOR_FORM,
)
def feedback(
    request: Request,
    item_id: int,
    csrf: str = Form(""),
    kind: Literal["up", "down"] = Form(...),  # declared, so the document says so too (422)
    note: str = Form(""),
) -> Response:
    editor = require_editor(request)
    check_csrf(request, editor, csrf)
    _known_item(request, item_id)
    now = datetime.now(UTC)
    database(request).write_sync(
        lambda c: reader.add_feedback(
            c, item_id, kind, note.strip()[:MAX_NOTE], editor.name, now, editor.user_id
        )
    )
    if request.headers.get("hx-request"):
        return HTMLResponse(
            f'<span class="thanks" role="status">{FEEDBACK_KINDS[kind]} noted, thank you</span>'
        )
    return RedirectResponse(_back(request, item_id), status_code=303)
