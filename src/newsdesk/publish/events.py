"""The public read layer for events: hot events, one event with its coverage and timeline.

An event is public when at least one of its stories is public; T3 community sources add heat
but an event carried only by them is not shown (DESIGN.md §2). Markers come from the stored
hourly heat: "rising" (> 15% above the markers' window ago), "new" (first report within it),
"surge" (≥ 3 sources new within it, making up ≥ 50% of the event's sources). The markers' window
is six hours on a busy desk and an eighth of the heat window on a sparser one (`HeatScale`, as
stored by the pass that computed the heat).
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, String, and_, bindparam, exists, literal, or_, select

from newsdesk.domain import HeatScale, is_row_id
from newsdesk.publish.memo import until_desk
from newsdesk.publish.pictures import Spark, coverage_spark
from newsdesk.publish.read import (
    PUBLIC_TIERS,
    BadRequest,
    api_item,
    aware_utc,
    get_card,
    relative_age,
)
from newsdesk.store import events as store_events
from newsdesk.store import schema as t
from newsdesk.store.prepared import fetch_all, read_time

RISING = 1.15
SURGE_SOURCES = 3
MAX_HOT = 100


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


def _public_events() -> Any:
    """Events with a public story from a source that is not community chatter (T3)."""
    m, i, s = t.event_members.c, t.items.c, t.sources.c
    return exists(
        select(m.item_id)
        .join(t.items, i.id == m.item_id)
        .join(t.sources, s.id == i.source_id)
        .where(and_(m.event_id == t.events.c.id, i.tier.in_(PUBLIC_TIERS), s.tier != "T3"))
    )


def heat_scale(conn: Connection) -> HeatScale:
    """The time scale the desk's stored heat was computed on, for a page to say."""
    return store_events.heat_scale(conn)


def _span(span: timedelta) -> str:
    """48 hours, 42 hours, 7 days: hours up to three days, whole days beyond."""
    hours = span / timedelta(hours=1)
    if hours >= 72 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def heat_scale_words(scale: HeatScale) -> dict[str, str]:
    """The scale as a page says it: window, half-life and the markers' window."""
    return {
        "window": _span(scale.window),
        "half_life": _span(scale.half_life),
        "markers": _span(scale.markers),
    }


def api_heat_scale(scale: HeatScale) -> dict[str, float]:
    hour = timedelta(hours=1)
    return {
        "window_hours": scale.window / hour,
        "half_life_hours": scale.half_life / hour,
        "markers_hours": scale.markers / hour,
    }


def markers(
    conn: Connection, event_ids: list[int], now: datetime, backfill_counts: bool = False
) -> dict[int, list[str]]:
    """rising / new / surge per event, from snapshots and first reports per source."""
    return marks_and_sparks(conn, event_ids, now, backfill_counts)[0]


def marks_and_sparks(
    conn: Connection, event_ids: list[int], now: datetime, backfill_counts: bool = False
) -> tuple[dict[int, list[str]], dict[int, Spark | None]]:
    """Markers and the coverage sparkline of each event, from one read of their reports."""
    if not event_ids:
        return {}, {}
    m, i, d = t.event_members.c, t.items.c, t.discoveries.c
    current = dict(conn.execute(select(t.events.c.id, t.events.c.heat)
                                .where(t.events.c.id.in_(event_ids))).all())  # fmt: skip
    window = heat_scale(conn).markers
    before = _heat_before(conn, event_ids, now, window)
    reports = list(
        conn.execute(
            select(m.event_id, i.source_id, i.filed_at.label("at"), i.backfill, m.relation)
            .join(t.items, i.id == m.item_id)
            .where(m.event_id.in_(event_ids))
        )
    ) + list(
        conn.execute(
            select(m.event_id, d.source_id, d.seen_at.label("at"), i.backfill,
                   literal(None, String).label("relation"))
            .join(t.event_members, m.item_id == d.item_id)
            .join(t.items, i.id == d.item_id)
            .where(m.event_id.in_(event_ids))
        )
    )  # fmt: skip
    by_event: dict[int, list[tuple[str, datetime, bool]]] = defaultdict(list)
    drawn: dict[int, list[tuple[str, datetime, str | None]]] = defaultdict(list)
    for r in reports:
        by_event[r.event_id].append((r.source_id, r.at, r.backfill))
        drawn[r.event_id].append((r.source_id, r.at, r.relation))
    marks = {
        event_id: _marks(current.get(event_id, 0.0), before.get(event_id),
                         by_event.get(event_id, []), now, backfill_counts, window)
        for event_id in event_ids
    }  # fmt: skip
    sparks = {event_id: coverage_spark(drawn.get(event_id, []), now) for event_id in event_ids}
    return marks, sparks


def _heat_before(
    conn: Connection, event_ids: list[int], now: datetime, window: timedelta
) -> dict[int, float]:
    """Each event's heat at the latest snapshot at or before the marker window's start."""
    h = t.event_heat.c
    # a later snapshot reaches the window's start at the latest an hour from now
    until_desk((now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0), now)
    before: dict[int, float] = {}
    for r in conn.execute(
        select(h.event_id, h.heat, h.hour)
        .where(h.event_id.in_(event_ids), h.hour <= now - window)
        .order_by(h.hour)
    ):
        before[r.event_id] = r.heat  # ordered by hour: the latest at or before six hours ago
    return before


def _marks(
    heat: float,
    old: float | None,
    reports: list[tuple[str, datetime, bool]],
    now: datetime,
    backfill_counts: bool = False,
    window: timedelta = HeatScale().markers,
) -> list[str]:
    """The markers of one event from its heat now and then and its reports (source, time,
    backfill), each source's first report counting. `backfill_counts`: the demo snapshot's
    clock, as in `events.heat.event_heat`; `window`: the markers' (`HeatScale.markers`)."""
    then = now - window
    times: dict[str, datetime] = {}
    for source_id, at, backfill in reports:
        if backfill and not backfill_counts:
            continue
        seen = times.get(source_id)
        if seen is None or at < seen:
            times[source_id] = at
    for at in times.values():  # "new" and "surge" change when a report enters or leaves
        if at > then:
            until_desk(at if at > now else at + window, now)
    marks = []
    if old is not None and old > 0 and heat > old * RISING:
        marks.append("rising")
    if times and then < min(times.values()) <= now:
        marks.append("new")
    fresh = sum(1 for at in times.values() if then < at <= now)
    if times and fresh >= SURGE_SOURCES and fresh * 2 >= len(times):
        marks.append("surge")
    return marks


def _event_dict(
    row: Any,
    marks: list[str],
    lead: dict[str, Any] | None,
    now: datetime,
    spark: Spark | None = None,
) -> dict:
    return {
        "id": row.id,
        "title": {"en": row.title_en, "zh": row.title_zh},
        "heat": round(row.heat, 3),
        "markers": marks,
        "sources_count": row.sources_count,
        "also_reported_by": max(0, row.sources_count - 1),
        "first_seen_at": row.first_seen_at,
        "last_seen_at": row.last_seen_at,
        "age": relative_age(row.last_seen_at, now),
        "lead": lead,
        "spark": spark,  # its coverage over its life (publish/pictures.py), not in the API
    }


def hot_events(
    conn: Connection,
    limit: int = 30,
    tz: str = "UTC",
    now: datetime | None = None,
    backfill_counts: bool = False,
) -> list[dict[str, Any]]:
    """Public events, hottest first (then the most recent), each with its lead story's card."""
    now = now or datetime.now(UTC)
    e = t.events.c
    rows = conn.execute(
        select(t.events)
        .where(_public_events())
        .order_by(e.heat.desc(), e.last_seen_at.desc(), e.id.desc())
        .limit(max(1, min(limit, MAX_HOT)))
    ).all()
    marks, sparks = marks_and_sparks(conn, [r.id for r in rows], now, backfill_counts)
    return [
        _event_dict(r, marks.get(r.id, []), _lead_card(conn, r, tz, now), now, sparks.get(r.id))
        for r in rows
    ]


def _lead_card(conn: Connection, row: Any, tz: str, now: datetime) -> dict[str, Any] | None:
    card = get_card(conn, row.lead_item_id, tz=tz, now=now) if row.lead_item_id else None
    if card is not None:
        return card
    # The lead may be excluded while a report of it is public: show the first public one.
    m, i = t.event_members.c, t.items.c
    public = conn.execute(
        select(i.id)
        .join(t.event_members, m.item_id == i.id)
        .where(m.event_id == row.id, i.tier.in_(PUBLIC_TIERS))
        .order_by(i.filed_at)
        .limit(1)
    ).scalar()
    return get_card(conn, public, tz=tz, now=now) if public else None


class _Member(NamedTuple):
    id: int
    url: str
    title: str
    filed_at: datetime
    tier: str | None
    language: str
    backfill: bool
    relation: str
    manual: bool
    source_id: str
    source_name: str
    source_tier: str
    title_en: str | None
    title_zh: str | None


class _Discovery(NamedTuple):
    item_id: int
    url: str
    seen_at: datetime
    source_id: str
    source_name: str
    source_tier: str


def _members_query() -> Any:
    m, i, s, j = t.event_members.c, t.items.c, t.sources.c, t.judgements.c
    return (
        select(i.id, i.url, i.title, i.filed_at, i.tier, i.language, i.backfill, m.relation,
               m.manual, s.id, s.name, s.tier, j.title_en, j.title_zh)
        .join(t.items, i.id == m.item_id)
        .join(t.sources, s.id == i.source_id)
        .outerjoin(t.judgements, j.id == i.judgement_id)
        .where(m.event_id == bindparam("event"))
        .order_by(i.filed_at, i.id)
    )  # fmt: skip


def _discoveries_query() -> Any:
    m, s, d = t.event_members.c, t.sources.c, t.discoveries.c
    return (
        select(d.item_id, d.url, d.seen_at, s.id, s.name, s.tier)
        .join(t.sources, s.id == d.source_id)
        .join(t.event_members, m.item_id == d.item_id)
        .where(m.event_id == bindparam("event"))
        .order_by(d.seen_at, d.id)
    )  # fmt: skip


def get_event(
    conn: Connection,
    event_id: int,
    tz: str = "UTC",
    now: datetime | None = None,
    backfill_counts: bool = False,
) -> dict[str, Any] | None:
    """One public event: lead, members in time order with their relation, and coverage."""
    if not is_row_id(event_id):
        return None
    now = now or datetime.now(UTC)
    row = conn.execute(
        select(t.events).where(t.events.c.id == event_id).where(_public_events())
    ).first()
    if row is None:
        return None
    # members and discoveries: two statements compiled once (the page asks on every request)
    params = {"event": row.id}
    members = [
        _Member(*r[:3], read_time(conn, r[3]), *r[4:])
        for r in fetch_all(conn, "event page members", _members_query, params)
    ]
    found = [
        _Discovery(r[0], r[1], read_time(conn, r[2]), *r[3:])
        for r in fetch_all(conn, "event page discoveries", _discoveries_query, params)
    ]
    # the markers from the rows read here (the hot list reads them for many events at once)
    backfill = {r.id: r.backfill for r in members}
    reports = [(r.source_id, r.filed_at, r.backfill) for r in members] + [
        (r.source_id, r.seen_at, backfill.get(r.item_id, False)) for r in found
    ]
    window = heat_scale(conn).markers
    marks = _marks(row.heat, _heat_before(conn, [row.id], now, window).get(row.id), reports, now,
                   backfill_counts, window)  # fmt: skip
    spark = coverage_spark(
        [(r.source_id, r.filed_at, r.relation) for r in members]
        + [(r.source_id, r.seen_at, None) for r in found],
        now,
    )
    event = _event_dict(row, marks, _lead_card(conn, row, tz, now), now, spark)
    lead_id = event["lead"]["id"] if event["lead"] else row.lead_item_id
    timeline = []
    for r in members:
        public = r.tier in PUBLIC_TIERS
        timeline.append({
            "item_id": r.id if public else None,
            "url": r.url,
            "title": {"en": r.title_en or r.title, "zh": r.title_zh} if public
            else {"en": r.title, "zh": ""},
            "source": {"id": r.source_id, "name": r.source_name, "tier": r.source_tier},
            "at": _iso(r.filed_at),
            "age": relative_age(r.filed_at, now),
            "relation": "lead" if r.id == lead_id else r.relation,
            "manual": bool(r.manual),
            "public": public,
        })  # fmt: skip
    for r in found:
        timeline.append({
            "item_id": None,
            "url": r.url,
            "title": None,
            "source": {"id": r.source_id, "name": r.source_name, "tier": r.source_tier},
            "at": _iso(r.seen_at),
            "age": relative_age(r.seen_at, now),
            "relation": "same_occurrence",
            "manual": False,
            "public": True,
            "discovery_of": r.item_id,
        })  # fmt: skip
    timeline.sort(key=lambda x: x["at"] or "")
    sources: dict[str, dict[str, str]] = {}
    for entry in timeline:
        sources.setdefault(entry["source"]["id"], entry["source"])
    event["members"] = timeline
    event["sources"] = list(sources.values())
    # community accounts (X, WeChat, forums: T3) that talked about it: heat, never the story
    event["discussed_by"] = [x["name"] for x in sources.values() if x["tier"] == "T3"]
    return event


def api_event(event: dict[str, Any], with_members: bool = True) -> dict[str, Any]:
    """The JSON shape of an event in API v1."""
    data = {
        "id": event["id"],
        "title": event["title"],
        "heat": event["heat"],
        "markers": event["markers"],
        "sources_count": event["sources_count"],
        "also_reported_by": event["also_reported_by"],
        "first_seen_at": _iso(event["first_seen_at"]),
        "last_seen_at": _iso(event["last_seen_at"]),
        "lead": api_item(event["lead"]) if event["lead"] else None,
    }
    if with_members and "members" in event:
        data["members"] = event["members"]
        data["sources"] = event["sources"]
    return data


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


EVENT_ORDERS = ("newest", "heat")


def _event_cursor(order: str, row: Any) -> str:
    key = _iso(row.last_seen_at) if order == "newest" else repr(float(row.heat))
    raw = json.dumps([order, key, row.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_event_cursor(cursor: str, order: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, key, event_id = json.loads(raw)
        if kind != order:
            raise ValueError("cursor of another order")
        value = aware_utc(datetime.fromisoformat(key)) if order == "newest" else float(key)
        if isinstance(event_id, bool) or not isinstance(event_id, int) or not is_row_id(event_id):
            raise ValueError("not an event id")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("heat is a finite number")
        return value, event_id
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is not one this desk issued for this order") from exc


def list_events(
    conn: Connection,
    order: str = "newest",
    limit: int = 30,
    cursor: str | None = None,
    tz: str = "UTC",
    now: datetime | None = None,
    backfill_counts: bool = False,
) -> EventPage:
    """Public events, newest report first or hottest first, keyset-paginated by (key, id)."""
    if order not in EVENT_ORDERS:
        raise BadRequest(f"order must be one of {', '.join(EVENT_ORDERS)}")
    now = now or datetime.now(UTC)
    e = t.events.c
    key = e.last_seen_at if order == "newest" else e.heat
    query = select(t.events).where(_public_events())
    if cursor:
        value, last_id = _decode_event_cursor(cursor, order)
        # `key <= value` too: an index range to start from (the OR alone has none)
        query = query.where(key <= value, or_(key < value, and_(key == value, e.id < last_id)))
    limit = max(1, min(limit, MAX_HOT))
    rows = conn.execute(query.order_by(key.desc(), e.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    marks, sparks = marks_and_sparks(conn, [r.id for r in rows], now, backfill_counts)
    events = [
        _event_dict(r, marks.get(r.id, []), _lead_card(conn, r, tz, now), now, sparks.get(r.id))
        for r in rows
    ]
    next_cursor = _event_cursor(order, rows[-1]) if more and rows else None
    return EventPage(events, next_cursor)
