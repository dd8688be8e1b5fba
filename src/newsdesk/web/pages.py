"""Reader pages: Hot, All, a tag, one story."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from newsdesk.publish.desk import editor_marks, event_members, filter_choices, tag_count
from newsdesk.publish.media import item_media, media_origins
from newsdesk.publish.memo import memoized
from newsdesk.publish.read import (
    HOT_TIERS,
    PUBLIC_TIERS,
    BadRequest,
    CardPage,
    get_card,
    group_by_day,
    list_cards,
)
from newsdesk.publish.related import related
from newsdesk.store import follows
from newsdesk.web.auth import current_editor
from newsdesk.web.deps import (
    MAX_KEPT_QUERY,
    Same,
    cards_key,
    database,
    desk_now,
    frozen,
    person_follows,
    render,
    settings,
)
from newsdesk.web.openapi import BAD_REQUEST_HTML, CURSOR, NOT_FOUND_HTML
from newsdesk.web.security import policy_allowing

router = APIRouter()
PAGE_SIZE = 30  # cards per page; infinite scroll brings the next 30 (rendering is the cost)
FILTER_LABELS = {
    "tier": "tier {}",
    "tag": "#{}",
    "source": "source {}",
    "group": "group {}",
    "language": "language {}",
    "q": "“{}”",
}


def feed_page(
    request: Request,
    heading: str,
    active: str,
    tiers: tuple[str, ...],
    tier: str | None = None,
    subheading: str = "",
    **filters: Any,
) -> HTMLResponse:
    if tier:
        if tier not in tiers:
            return render(
                request, "error.html", 400, status=400,
                message=f"tier must be one of {', '.join(tiers)} on this page",
            )  # fmt: skip
        tiers = (tier,)
    # the editor first: their session is read on its own connection, which is given back
    # before the page takes one (holding both made 16 signed-in requests need 32)
    editor = current_editor(request)
    tz, now, demo = settings(request).timezone, desk_now(request), settings(request).demo

    def read() -> CardPage:
        return list_cards(conn, tiers=tiers, limit=PAGE_SIZE, tz=tz, now=now, **filters)

    try:
        with database(request).read() as conn:
            # a read kept until the database changes (publish/memo.py), a search's too (its
            # ranking reads only the database; a query longer than any a person types is not
            # kept, so a key stays small)
            result = (
                read() if len(filters.get("q") or "") > MAX_KEPT_QUERY
                else memoized(conn, ("feed", tiers, tz, demo, *filters.items()), read)
            )  # fmt: skip
            # kept a minute per database and shared by every page: not part of a kept read,
            # which would weigh it again for each page it keeps
            choices = filter_choices(conn)
            saved, votes = (
                _marks(conn, [c["id"] for c in result.cards], editor.user_id)
                if editor
                else (set(), {})
            )
            followed = _followed(conn, editor, result.cards)
            targets = _follow_targets(filters, result.cards)
            following = person_follows(conn, editor)
    except BadRequest as exc:
        return render(request, "error.html", 400, status=400, message=str(exc))
    kept = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    shown = {"tier": tier, **filters}
    active_filter = ", ".join(
        FILTER_LABELS[k].format(v) for k, v in shown.items() if v and k in FILTER_LABELS
    )
    # htmx asks for the list only: filters swap it, the pager appends the next page.
    fragment = request.headers.get("hx-request") == "true" and not request.headers.get("hx-boosted")
    cards = cards_key(result.cards)
    memo = None
    if cards is not None:
        memo = (
            fragment, heading, subheading, active, cards, result.next_cursor, request.url.path,
            tuple(kept.items()), active_filter, Same(choices), tuple(shown.items()), tier,
            frozenset(saved), tuple(sorted(votes.items())), tuple(sorted(followed.items())),
            tuple(targets), frozenset(following),
        )  # fmt: skip
    return render(
        request,
        "_feed_list.html" if fragment else "feed.html",
        memo=memo,
        heading=heading,
        subheading=subheading,
        active=active,
        # a search is in rank order (best match first), not grouped by day
        days=[("Best matches", result.cards)] if filters.get("q") else group_by_day(result.cards),
        next_cursor=result.next_cursor,
        query_string=urlencode(kept),
        active_filter=active_filter,
        clear_url=request.url.path,
        choices=choices,
        filters=shown,
        tier_choices=tiers if not tier else (HOT_TIERS if active == "hot" else PUBLIC_TIERS),
        saved=saved,
        votes=votes,
        followed=followed,
        follow_targets=targets,
        following=following,
        appending=bool(filters.get("cursor")),
    )


def _followed(conn: Any, editor: Any, cards: list[dict[str, Any]]) -> dict[int, bool]:
    """The events of these cards the person follows: True where one has new facts since they
    looked (the card's "new since you looked" marker)."""
    if not editor:
        return {}
    events = [c["event"]["id"] for c in cards if c.get("event")]
    uid = editor.user_id
    # kept until the database changes (following, looking and new facts are writes)
    return memoized(conn, ("event marks", uid, *events),
                    lambda: follows.event_marks(conn, uid, events))  # fmt: skip


def _follow_targets(filters: dict[str, Any], cards: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """What a feed page offers to follow: its tag (an entity when its stories name it so), its
    source, its search."""
    out: list[tuple[str, str]] = []
    tag = (filters.get("tag") or "").strip()
    if tag:
        entity = any(tag in c["tags"]["entities"] for c in cards[:5])
        out.append(("entity" if entity else "tag", tag))
    if filters.get("source"):
        out.append(("source", filters["source"]))
    if (filters.get("q") or "").strip():
        out.append(("search", " ".join(filters["q"].split())[:300]))
    return out


# The query parameters every feed page takes; one place to add a filter. Async on purpose:
# FastAPI runs a plain function or a dataclass dependency in the thread pool, a hop per
# request that cost more than reading the kept page.
Tier = Annotated[str | None, Query(json_schema_extra={"enum": list(PUBLIC_TIERS)})]
HotTier = Annotated[str | None, Query(json_schema_extra={"enum": list(HOT_TIERS)})]
Cursor = Annotated[str | None, Query(**CURSOR)]


async def feed_filters(
    # Declared, not enforced by FastAPI: a wrong tier gets this desk's 400 page, not JSON.
    tier: Tier = None, tag: str | None = None, source: str | None = None,
    group: str | None = None, language: str | None = None, q: str | None = None,
    cursor: Cursor = None,
) -> dict[str, str | None]:  # fmt: skip
    return {"tier": tier, "tag": tag, "source": source, "group": group, "language": language,
            "q": q, "cursor": cursor}  # fmt: skip


async def hot_filters(
    tier: HotTier = None, tag: str | None = None, source: str | None = None,
    group: str | None = None, language: str | None = None, q: str | None = None,
    cursor: Cursor = None,
) -> dict[str, str | None]:  # fmt: skip
    return await feed_filters(tier, tag, source, group, language, q, cursor)


Filters = Annotated[dict[str, str | None], Depends(feed_filters)]


def _marks(conn: Connection, ids: list[int], user: int) -> tuple[set[int], dict[int, str]]:
    """The person's saved and voted marks on these stories, kept until the database changes
    (saving or voting is a write)."""
    return memoized(conn, ("editor marks", user, *ids), lambda: editor_marks(conn, ids, user))


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="Hot: p1 and featured stories",
    responses=BAD_REQUEST_HTML,
)
def hot(
    request: Request, filters: Annotated[dict[str, str | None], Depends(hot_filters)]
) -> HTMLResponse:
    return feed_page(request, "Hot", "hot", HOT_TIERS, **filters)


@router.get(
    "/all", response_class=HTMLResponse, summary="Every public story", responses=BAD_REQUEST_HTML
)
def all_stories(request: Request, filters: Filters) -> HTMLResponse:
    return feed_page(request, "All stories", "all", PUBLIC_TIERS, **filters)


@router.get(
    "/tags/{tag:path}",
    response_class=HTMLResponse,
    summary="Every public story with a tag",
    responses=BAD_REQUEST_HTML,
)
def tag_page(
    request: Request, tag: str, cursor: Annotated[str | None, Query(**CURSOR)] = None
) -> HTMLResponse:
    with database(request).read() as conn:
        n = tag_count(conn, tag)
    return feed_page(
        request, f"#{tag}", "", PUBLIC_TIERS, tag=tag, cursor=cursor,
        subheading=f"{n} public stor{'y' if n == 1 else 'ies'}",
    )  # fmt: skip


@router.get(
    "/items/{item_id}", response_class=HTMLResponse, summary="One story", responses=NOT_FOUND_HTML
)
def item_page(request: Request, item_id: int) -> HTMLResponse:
    editor = current_editor(request)  # before the page's connection, as in feed_page
    tz, now, demo = settings(request).timezone, desk_now(request), settings(request).demo

    def read() -> tuple[Any, Any, Any, Any]:
        card = get_card(conn, item_id, tz=tz, now=now)
        if card is None:
            return None, [], [], None
        media = item_media(conn, item_id) if card.get("media") else None
        near = related(conn, item_id, tz=tz, now=now)
        return card, event_members(conn, item_id, now), near, media

    with database(request).read() as conn:
        card, members, near, media = memoized(conn, ("item page", item_id, tz, demo), read)
        saved, votes = _marks(conn, [item_id], editor.user_id) if card and editor else (set(), {})
        followed = _followed(conn, editor, [card] if card else [])
        following = person_follows(conn, editor) if card else frozenset()
    if card is None:
        return render(request, "error.html", 404, status=404, message="No such story.")
    memo = None
    cards = cards_key([card])
    if cards is not None:
        memo = (cards, frozen(members), frozenset(saved), tuple(sorted(votes.items())),
                frozen(near), media["version"] if media else None,
                tuple(sorted(followed.items())), following)  # fmt: skip
    page = render(
        request, "item.html", memo=memo, c=card, members=members, saved=saved, votes=votes,
        related=near, media=media, followed=followed, following=following,
    )  # fmt: skip
    if media:  # the episode's file and cover are the only other origins this page may load
        page.headers["content-security-policy"] = policy_allowing(*media_origins(media))
    return page


@router.get(
    "/items/{item_id}/members",
    response_class=HTMLResponse,
    summary="The stories of this story's event (the coverage drawer)",
)
def members_fragment(request: Request, item_id: int) -> HTMLResponse:
    with database(request).read() as conn:
        members = event_members(conn, item_id, desk_now(request))
    return render(request, "_members.html", members=members, item_id=item_id)
