"""The public read layer: the one place that decides what readers see.

Pages, the API and (later) feeds and MCP all read cards from here, so a story hidden here is
hidden everywhere. Nothing in this module calls a model or fetches a URL (invariant 1).
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    Connection,
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)

from newsdesk.domain import ScorePart, is_row_id
from newsdesk.policy.adjust import ORIGIN, describe
from newsdesk.publish.cards import cards_by_id
from newsdesk.publish.footprint import footprint
from newsdesk.publish.media import card_media
from newsdesk.publish.memo import until_desk
from newsdesk.publish.search import MODES, Mode, search_ids
from newsdesk.store import schema as t
from newsdesk.store.prepared import fetch_all, fetch_typed, read_time

PUBLIC_TIERS = ("p1", "featured", "all")
HOT_TIERS = ("p1", "featured")
MAX_LIMIT = 200


class BadRequest(ValueError):
    """A filter or cursor a reader sent cannot be used; the message says why."""


@dataclass
class CardPage:
    cards: list[dict[str, Any]]
    next_cursor: str | None


def relative_age(when: datetime, now: datetime) -> str:
    seconds = (now - when).total_seconds()
    # the label holds until the next whole minute, hour or day of age (a kept read ends then)
    if seconds < 60:
        until_desk(when + timedelta(seconds=60), now)
        return "now"
    if seconds < 3600:
        until_desk(when + timedelta(seconds=(seconds // 60 + 1) * 60), now)
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        until_desk(when + timedelta(seconds=(seconds // 3600 + 1) * 3600), now)
        return f"{int(seconds // 3600)}h ago"
    until_desk(when + timedelta(days=seconds // 86400 + 1), now)
    return f"{int(seconds // 86400)}d ago"


def encode_cursor(filed_at: datetime, item_id: int) -> str:
    raw = f"{filed_at.astimezone(UTC).isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, item_id = raw.rsplit("|", 1)
        filed_at, last_id = aware_utc(datetime.fromisoformat(when)), int(item_id)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is not one this desk issued") from None
    if not is_row_id(last_id):
        raise BadRequest("cursor is not one this desk issued")
    return filed_at, last_id


def aware_utc(when: datetime) -> datetime:
    """A cursor's time in UTC; a naive one was not written by this desk (it writes offsets)."""
    if when.tzinfo is None:
        raise ValueError("a time without an offset")
    return when.astimezone(UTC)


_LED = t.events.alias("led")  # the judged multi-source event a story leads, if any
_VERDICT = (
    "tier", "importance", "hook", "knowledge", "resonance", "hook_reason", "knowledge_reason",
    "resonance_reason", "tags", "title_en", "title_zh", "summary_en", "summary_zh", "why",
    "editor", "breakdown",
)  # fmt: skip


def shown_tier() -> Any:
    """The tier a reader sees for a story: its event's when it leads a judged multi-source
    event (the event is judged as a whole), else its own."""
    return func.coalesce(_LED.c.tier, t.items.c.tier)


@cache  # statements are immutable; building them costs more than running them
def _card_query() -> Select[Any]:
    """Cards with their verdict: the lead of a judged multi-source event carries the event's
    judgement (`event_judgements`); every other story its own."""
    i, s, j, ej = t.items.c, t.sources.c, t.judgements.c, t.event_judgements.c
    verdict = [func.coalesce(ej[name], j[name]).label(name) for name in _VERDICT]
    # why the rules judged in the model's place: the shown verdict's own (NULL is meaningful)
    fallback = case((ej.id.is_not(None), ej.fallback), else_=j.fallback).label("fallback")
    return (
        select(
            i.id, i.url, i.title, i.language, i.published_at, i.filed_at, i.backfill, i.media,
            s.id.label("source_id"), s.name.label("source_name"), s.name_zh.label("source_name_zh"),
            s.kind.label("source_kind"), s.tier.label("source_tier"),
            s.group_name.label("source_group"), *verdict, fallback,
            _LED.c.id.label("judged_event_id"),
        )
        .join(t.sources, s.id == i.source_id)
        .join(t.judgements, j.id == i.judgement_id)
        .outerjoin(_LED, and_(_LED.c.lead_item_id == i.id, _LED.c.judgement_id.is_not(None)))
        .outerjoin(t.event_judgements, ej.id == _LED.c.judgement_id)
    )  # fmt: skip


def list_cards(
    conn: Connection,
    *,
    tiers: tuple[str, ...] = PUBLIC_TIERS,
    tag: str | None = None,
    source: str | None = None,
    q: str | None = None,
    group: str | None = None,
    language: str | None = None,
    ids: list[int] | None = None,
    limit: int = 50,
    cursor: str | None = None,
    tz: str = "UTC",
    now: datetime | None = None,
    collapse_events: bool = True,
    mode: Mode = "hybrid",
) -> CardPage:
    """Public stories, newest first, with keyset pagination; an event shows once, as its lead.

    Two steps: the filters find the page's story ids on the date index (narrow rows), then
    `cards_by_id` reads each card's version and builds only the cards not kept at it.
    With a query `q`, the stories matching it best first instead (`publish.search`: words and
    meaning fused, or one of them by `mode`), every report shown, paged by rank."""
    unknown = set(tiers) - set(PUBLIC_TIERS)
    if unknown:
        raise BadRequest(f"tier must be one of {', '.join(PUBLIC_TIERS)}")
    limit = max(1, min(limit, MAX_LIMIT))
    if q and q.strip():
        return _search_page(conn, q, mode, tiers, tag, source, group, language, ids, limit,
                            cursor, tz, now)  # fmt: skip
    shape = _Shape(
        tuple(x for x in PUBLIC_TIERS if x in tiers), collapse_events, bool(tag), bool(source),
        bool(group), bool(language), bool(cursor), conn.dialect.name == "sqlite",
    )  # fmt: skip
    # "page_limit", not "n": the search subquery binds its own cap as :n
    params: dict[str, Any] = {"page_limit": limit + 1, "tag": tag, "source": source, "group": group,
                              "language": language}  # fmt: skip
    if cursor:
        params["when"], params["last_id"] = decode_cursor(cursor)
    if ids is None:
        # the common case: one statement per shape, compiled once, rows as the driver gives them
        found = fetch_all(conn, ("card page", shape), lambda: _page_statement(shape), params)
        rows = [(r[0], r[1]) for r in found]
    else:
        query = _page_statement(shape)
        query = query.where(t.items.c.id.in_(ids or [-1]))
        rows = [(r.id, r.filed_at) for r in conn.execute(query, params)]
    more = len(rows) > limit
    rows = rows[:limit]
    cards = cards_for(conn, [r[0] for r in rows], tz, now)
    next_cursor = (
        encode_cursor(read_time(conn, rows[-1][1]), rows[-1][0]) if more and rows else None
    )
    return CardPage(cards, next_cursor)


def _search_page(
    conn: Connection,
    q: str,
    mode: Mode,
    tiers: tuple[str, ...],
    tag: str | None,
    source: str | None,
    group: str | None,
    language: str | None,
    ids: list[int] | None,
    limit: int,
    cursor: str | None,
    tz: str,
    now: datetime | None,
) -> CardPage:
    """One page of search results in rank order; the cursor is the rank to start from. The
    page's filters let through the ranked stories they would show (every report: a search
    does not fold an event into its lead), then the page's cards are built."""
    if mode not in MODES:
        raise BadRequest(f"mode must be one of {', '.join(MODES)}")
    start = decode_rank_cursor(cursor) if cursor else 0
    ranked = search_ids(conn, q, mode).ids
    if ids is not None:
        allowed = set(ids)
        ranked = [i for i in ranked if i in allowed]
    if not ranked:
        return CardPage([], None)
    shape = _Shape(
        tuple(x for x in PUBLIC_TIERS if x in tiers), False, bool(tag), bool(source),
        bool(group), bool(language), False, conn.dialect.name == "sqlite",
    )  # fmt: skip
    params: dict[str, Any] = {"tag": tag, "source": source, "group": group, "language": language}
    # The filters are asked about as many ranked stories as the page needs (and one more, to
    # know there is a next page), with some spare for those they leave out; the rest only if
    # that was not enough. Most searches read 60 rows here instead of 200.
    need = start + limit + 1
    shown: list[int] = []
    done = 0
    while done < len(ranked) and len(shown) < need:
        size = len(ranked) - done if done else need + need // 2 + 10
        chunk = ranked[done : done + size]
        done += len(chunk)
        visible = _visible(conn, shape, chunk, params)
        shown += [item_id for item_id in chunk if item_id in visible]
    page = shown[start : start + limit]
    cards = cards_for(conn, page, tz, now) if page else []
    more = len(shown) > start + limit
    return CardPage(cards, encode_rank_cursor(start + limit) if more else None)


def _visible(conn: Connection, shape: _Shape, ids: list[int], params: dict[str, Any]) -> set[int]:
    """Which of these stories the page's filters let through: one statement per shape,
    compiled once, the ids bound as one value (a JSON array on SQLite, an array on
    PostgreSQL) instead of one parameter each."""
    values = params | {"page_limit": len(ids), "ids": json.dumps(ids) if shape.sqlite else ids}
    rows = fetch_all(conn, ("search visible", shape), lambda: _visible_statement(shape), values)
    return {row[0] for row in rows}


def _visible_statement(shape: _Shape) -> Select[Any]:
    ids = t.items.c.id
    if shape.sqlite:
        listed = select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
        return _page_statement(shape).where(ids.in_(listed))
    return _page_statement(shape).where(ids == any_(bindparam("ids", type_=ARRAY(Integer))))


def encode_rank_cursor(start: int) -> str:
    return base64.urlsafe_b64encode(f"rank|{start}".encode()).decode().rstrip("=")


def decode_rank_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, start = raw.split("|", 1)
        if kind != "rank" or not start.isdigit():
            raise ValueError(raw)
        return int(start)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is not one this desk issued for this search") from None


@dataclass(frozen=True)
class _Shape:
    """Which filters a page query has (their values are bound per request)."""

    tiers: tuple[str, ...]
    collapse: bool
    tag: bool
    source: bool
    group: bool
    language: bool
    cursor: bool
    sqlite: bool


def _page_statement(shape: _Shape) -> Select[Any]:
    i = t.items.c
    # the tiers are this module's own words, so they are written into the statement
    tiers = [literal_column(f"'{x}'") for x in shape.tiers if x in PUBLIC_TIERS]
    # A tag's stories are walked on the tag's own index (tag, filed_at, item_id): newest
    # first whether the tag is on every fourth story or on three.
    walk_at, walk_id = (
        (t.item_tags.c.filed_at, t.item_tags.c.item_id) if shape.tag else (i.filed_at, i.id)
    )
    query = (_tag_page_query() if shape.tag else _page_query()).where(shown_tier().in_(tiers))
    if shape.collapse:
        query = query.where(~_covered_elsewhere())
    if shape.tag:
        query = query.where(t.item_tags.c.tag == bindparam("tag"))
    if shape.source:
        query = query.where(i.source_id == bindparam("source"))
    if shape.group:
        groups = select(t.sources.c.id).where(t.sources.c.group_name == bindparam("group"))
        query = query.where(i.source_id.in_(groups))
    if shape.language:
        query = query.where(i.language == bindparam("language"))
    if shape.cursor:
        when, last = bindparam("when", type_=t.TS), bindparam("last_id")
        # `walk_at <= when` first: SQLite uses no index range for the OR alone, and walked the
        # date index from the newest story to the cursor (4-6 ms for a page deep in history)
        query = query.where(
            and_(walk_at <= when, or_(walk_at < when, and_(walk_at == when, walk_id < last)))
            if shape.sqlite
            else tuple_(walk_at, walk_id) < tuple_(when, last)
        )
    return query.order_by(walk_at.desc(), walk_id.desc()).limit(bindparam("page_limit"))


@cache
def _page_query() -> Select[Any]:
    """The page's story ids: only what the filters and the order need (the tier a reader
    sees needs the judged event the story leads)."""
    i = t.items.c
    return select(i.id, i.filed_at).select_from(
        t.items.outerjoin(_LED, and_(_LED.c.lead_item_id == i.id, _LED.c.judgement_id.is_not(None)))
    )


@cache
def _tag_page_query() -> Select[Any]:
    i, it = t.items.c, t.item_tags.c
    return select(i.id, i.filed_at).select_from(
        t.item_tags.join(t.items, i.id == it.item_id).outerjoin(
            _LED, and_(_LED.c.lead_item_id == i.id, _LED.c.judgement_id.is_not(None))
        )
    )


def cards_for(
    conn: Connection, ids: list[int], tz: str = "UTC", now: datetime | None = None
) -> list[dict[str, Any]]:
    """The public cards of these stories, in this order (ids that are not public are left
    out), each with its age as of `now`."""
    now = now or datetime.now(UTC)

    sqlite = conn.dialect.name == "sqlite"

    def build(missing: list[int]) -> dict[int, dict[str, Any]]:
        ids = json.dumps(missing) if sqlite else missing
        rows = fetch_typed(conn, ("cards", sqlite), lambda: _cards_statement(sqlite), {"ids": ids})
        return {card["id"]: card for card in _cards(conn, rows, tz)}

    found = cards_by_id(conn, ids, tz, build)
    out = []
    for item_id in ids:
        card = found.get(item_id)
        if card is not None:
            out.append(card | {"age": relative_age(card["published_at"] or card["filed_at"], now)})
    return out


def _cards_statement(sqlite: bool) -> Select[Any]:
    """The public cards of the stories in `:ids` (one value: a JSON array on SQLite, an array
    on PostgreSQL), compiled once (`fetch_typed`)."""
    ids = t.items.c.id
    public = shown_tier().in_([literal_column(f"'{x}'") for x in PUBLIC_TIERS])
    if sqlite:
        listed = select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
        return _card_query().where(ids.in_(listed)).where(public)
    return _card_query().where(ids == any_(bindparam("ids", type_=ARRAY(Integer)))).where(public)


@cache
def _covered_elsewhere() -> Any:
    """Stories whose event is shown through its public lead: a reader sees an event once, as
    its lead's card with "also reported by N" (the members are on the event page).

    A correlated EXISTS, so each candidate row costs one primary-key probe of event_members
    while the newest-first walk fills the page; `id NOT IN (subquery)` made SQLite build the
    list over every event first (5 ms of a 30-card page at 20,000 events)."""
    m, e, lead = t.event_members.c, t.events.c, t.items.alias("lead")
    return (
        select(m.item_id)
        .join(t.events, e.id == m.event_id)
        .join(lead, lead.c.id == e.lead_item_id)
        .where(m.item_id == t.items.c.id)
        .where(
            e.lead_item_id != m.item_id,
            # the lead as readers see it (tiers written into the statement: no list to expand)
            func.coalesce(e.tier, lead.c.tier).in_(
                [literal_column(f"'{x}'") for x in PUBLIC_TIERS]
            ),
        )
        .correlate(t.items)
        .exists()
    )


def get_card(
    conn: Connection, item_id: int, tz: str = "UTC", now: datetime | None = None
) -> dict[str, Any] | None:
    if not is_row_id(item_id):
        return None
    cards = cards_for(conn, [item_id], tz, now)
    return cards[0] if cards else None


def _cards(conn: Connection, rows: list[Any], tz: str) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    comments = _latest_commentary(conn, ids)
    # A judged multi-source event's commentary is written once, for the event: its lead shows it.
    event_comments = _latest_event_commentary(conn, [r.judged_event_id for r in rows])
    events = _events(conn, ids)
    zone = ZoneInfo(tz)
    return [
        _card(r, event_comments.get(r.judged_event_id) if r.judged_event_id
              else comments.get(r.id), events.get(r.id), zone)
        for r in rows
    ]  # fmt: skip


def _latest_commentary(conn: Connection, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    c = t.commentary.c
    rows = conn.execute(select(t.commentary).where(c.item_id.in_(ids)).order_by(c.id))
    return {r.item_id: r for r in rows}  # later rows win: the newest commentary


def _latest_event_commentary(conn: Connection, event_ids: list[int | None]) -> dict[int, Any]:
    """The newest commentary of each event written since its current judgement."""
    wanted = [e for e in event_ids if e is not None]
    if not wanted:
        return {}
    c, e, ej = t.commentary.c, t.events.c, t.event_judgements.c
    rows = conn.execute(
        select(t.commentary)
        .join(t.events, e.id == c.event_id)
        .join(t.event_judgements, ej.id == e.judgement_id)
        .where(c.event_id.in_(wanted), c.created_at >= ej.created_at)
        .order_by(c.id)
    )
    return {r.event_id: r for r in rows}


def _events(conn: Connection, ids: list[int]) -> dict[int, dict[str, int]]:
    if not ids:
        return {}
    m, e = t.event_members.c, t.events.c
    rows = conn.execute(
        select(m.item_id, e.id, e.sources_count)
        .join(t.events, e.id == m.event_id)
        .where(m.item_id.in_(ids))
    )
    return {r.item_id: {"id": r.id, "sources_count": r.sources_count} for r in rows}


def _card(row: Any, comment: Any, event: Any, zone: ZoneInfo) -> dict[str, Any]:
    """A card without its age (kept across requests; `cards_for` adds the age)."""
    when = row.published_at or row.filed_at
    local = when.astimezone(zone)
    tags = row.tags or {}
    return {
        "id": row.id,
        "url": row.url,
        "title": {"en": row.title_en, "zh": row.title_zh},
        "summary": {"en": row.summary_en, "zh": row.summary_zh},
        "original_title": row.title,
        "language": row.language,
        "source": {
            "id": row.source_id,
            "name": row.source_name,
            "name_zh": row.source_name_zh,
            "kind": row.source_kind,
            "tier": row.source_tier,
            "group": row.source_group,
        },
        "published_at": row.published_at,
        "filed_at": row.filed_at,
        "time_hm": local.strftime("%H:%M"),
        "date_md": local.strftime("%m·%d"),
        "day": local.date(),
        "tier": row.tier,
        "importance": row.importance,
        "hkr": {
            "h": row.hook,
            "k": row.knowledge,
            "r": row.resonance,
            "h_reason": row.hook_reason,
            "k_reason": row.knowledge_reason,
            "r_reason": row.resonance_reason,
        },
        # tuples, not lists: a kept card holding only immutable values is left out of the
        # garbage collector's full passes (20,000 kept cards made each pass ~0.3 s)
        "tags": {
            "capabilities": tuple(tags.get("capabilities", ())),
            "entities": tuple(tags.get("entities", ())),
            "topics": tuple(tags.get("topics", ())),
        },
        "why": row.why,
        # the editors' adjustments code added to the score: "−6: Product update (editors' policy)"
        "adjustments": tuple(editors_adjustments(row.breakdown)),
        "take": {
            "en": comment.take_en if comment else "",
            "zh": comment.take_zh if comment else "",
        },
        "sharp": {
            "en": comment.sharp_en if comment else "",
            "zh": comment.sharp_zh if comment else "",
        },
        "editor": row.editor,
        # the rules judged because the model could not (unreachable, no usable answer): the
        # card says so until the model judges the story on a later pass
        "model_unavailable": row.fallback is not None,
        # "event": the verdict and commentary are the multi-source event's, judged as a whole
        "verdict": "event" if row.judged_event_id else "story",
        "event": event,
        "backfill": row.backfill,
        "media": card_media(row.media),
    }


def editors_adjustments(breakdown: Any) -> list[str]:
    parts = [p for p in breakdown or () if isinstance(p, dict) and p.get("origin") == ORIGIN]
    return [describe(ScorePart(int(p["points"]), str(p["label"]), ORIGIN)) for p in parts]


def api_item(card: dict[str, Any]) -> dict[str, Any]:
    """The JSON shape of a story in API v1."""
    published = card["published_at"]
    return {
        "id": card["id"],
        "url": card["url"],
        "title": card["title"],
        "summary": card["summary"],
        "source": {k: card["source"][k] for k in ("id", "name", "kind", "tier")}
        | {"language": card["language"]},
        "published_at": published.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if published
        else None,
        "tier": card["tier"],
        "importance": card["importance"],
        "hkr": {k: card["hkr"][k] for k in ("h", "k", "r")},
        "tags": card["tags"],
        "why": card["why"],
        "take": card["take"],
        "sharp": card["sharp"],
        "editor": card["editor"],
        "model_unavailable": card["model_unavailable"],
        "verdict": card["verdict"],
        "event": card["event"],
        "media": card["media"],
    }


_API_JSON: OrderedDict[tuple[int, Any], bytes] = OrderedDict()
_API_JSON_LOCK = threading.Lock()
MAX_API_JSON = 20_000
# a P1 story carries its whole sharp analysis (~5 KB of JSON): bounded by bytes too, so a
# crawler paging through the desk's history cannot grow the server past its memory budget
# each weighed with its key (the card's version, which it keeps alive): ~2 KB a story
MAX_API_JSON_BYTES = 8 * 1024 * 1024
_api_json_bytes = 0
_API_JSON_WEIGHTS: dict[tuple[int, Any], int] = {}


def api_items_json(cards: list[dict[str, Any]], next_cursor: str | None) -> bytes:
    """`{"items": [...], "next_cursor": ...}` as JSON bytes, each story's JSON kept by its card's
    version (encoding 50 stories was most of an uncached API answer). The same bytes as
    `JSONResponse` writes: UTF-8, compact separators."""
    parts = []
    for card in cards:
        version = card.get("version")
        key = (card["id"], version)
        with _API_JSON_LOCK:
            kept = _API_JSON.get(key) if version is not None else None
        if kept is None:
            kept = _json(api_item(card))
            if version is not None:
                _keep_api_json(key, kept)
        parts.append(kept)
    return b'{"items":[' + b",".join(parts) + b'],"next_cursor":' + _json(next_cursor) + b"}"


def _keep_api_json(key: tuple[int, Any], body: bytes) -> None:
    global _api_json_bytes
    weight = sys.getsizeof(body) + footprint(key)
    with _API_JSON_LOCK:
        _API_JSON.pop(key, None)
        _api_json_bytes += weight - _API_JSON_WEIGHTS.get(key, 0)
        _API_JSON[key] = body
        _API_JSON_WEIGHTS[key] = weight
        while _API_JSON and (len(_API_JSON) > MAX_API_JSON or _api_json_bytes > MAX_API_JSON_BYTES):
            dropped, _ = _API_JSON.popitem(last=False)
            _api_json_bytes -= _API_JSON_WEIGHTS.pop(dropped)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@lru_cache(maxsize=4096)
def _day_label(day: date) -> str:
    return day.strftime("%A, %d %B %Y")


def group_by_day(cards: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for card in cards:
        days[_day_label(card["day"])].append(card)
    return list(days.items())
