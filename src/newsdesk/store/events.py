"""Event rows: membership, editors' merges and splits, coverage, lead, title and heat.

Manual decisions are stored as `event_members.manual = true`; `reset_grouping` (a regroup)
removes only automatic memberships, so an editor's merge or split survives any later pass.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from newsdesk.domain import HEAT_PACE_STORIES, GroupDecision, HeatScale, StoryRef
from newsdesk.store import schema as t
from newsdesk.store import state

BODY_FOR_GROUPING = 600


class EventError(ValueError):
    """An editor asked for something the events do not allow; the message says why."""


@dataclass(frozen=True, slots=True)
class Sighting:
    """Input to heat: a source reporting an event at a time (mirrors events.heat.Report)."""

    source_id: str
    at: datetime
    backfill: bool


def _ref(row: Any) -> StoryRef:
    url = row.identity_key[4:] if row.identity_key.startswith("url:") else ""
    return StoryRef(
        item_id=row.id,
        event_id=getattr(row, "event_id", None),
        source_id=row.source_id,
        url=url,
        title=row.title,
        text=row.body_text[:BODY_FOR_GROUPING],
        filed_at=row.filed_at,
        relation="manual" if getattr(row, "manual", False) else getattr(row, "relation", "lead"),
    )


def window_refs(conn: Connection, start: datetime, end: datetime) -> list[StoryRef]:
    """Grouped stories filed in [start, end], with their event and relation."""
    c, m = t.items.c, t.event_members.c
    rows = conn.execute(
        select(c.id, c.source_id, c.title, c.body_text, c.filed_at, c.identity_key,
               m.event_id, m.relation, m.manual)
        .join(t.event_members, m.item_id == c.id)
        .where(c.filed_at >= start, c.filed_at <= end)
        .order_by(c.filed_at)
    )  # fmt: skip
    return [_ref(r) for r in rows]


def ungrouped_refs(conn: Connection, limit: int = 100_000) -> list[StoryRef]:
    c = t.items.c
    rows = conn.execute(
        select(c.id, c.source_id, c.title, c.body_text, c.filed_at, c.identity_key)
        .outerjoin(t.event_members, t.event_members.c.item_id == c.id)
        .where(t.event_members.c.item_id.is_(None))
        .order_by(c.filed_at, c.source_id, c.url, c.id)  # arrival order (ids) must not matter
        .limit(limit)
    )
    return [_ref(r) for r in rows]


def events_of(conn: Connection, item_ids: list[int]) -> list[int]:
    """The events the given stories belong to."""
    m = t.event_members.c
    return sorted(set(conn.execute(select(m.event_id).where(m.item_id.in_(item_ids))).scalars()))


def attach(
    conn: Connection,
    ref: StoryRef,
    decision: GroupDecision,
    now: datetime,
    fallback: str | None = None,
    new_number: bool = False,
) -> int:
    """Put a story in its event (or start one) and refresh that event. `fallback`: why the
    rules decided in the model's place (the model is asked again on a later pass).
    `new_number`: the story repeats the happening with a figure the event's stories had not
    reported."""
    event_id = decision.event_id
    if event_id is None:
        event_id = _new_event(conn, ref.item_id, ref.title, ref.filed_at, now)
    conn.execute(
        _ADD_MEMBER,
        {
            "item_id": ref.item_id,
            "event_id": event_id,
            "relation": "lead" if decision.event_id is None else decision.relation,
            "similarity": decision.similarity,
            "added_at": now,
            "fallback": fallback,
            "new_number": new_number,
        },
    )
    refresh_event(conn, event_id, now)
    return int(event_id)


# --- placements the rules made in the model's place -----------------------------------------


@dataclass(frozen=True, slots=True)
class Fallback:
    """A story the rules placed because its relation call failed, in its grouping run."""

    ref: StoryRef  # with its current event and relation
    batch: datetime  # `added_at`: every story that run placed has it
    later: frozenset[int]  # what the same run placed after it (automatic placements only)


def _placement_order(row: Any) -> tuple[Any, ...]:
    """The order grouping placed one run's stories in (`ungrouped_refs`)."""
    return (row.filed_at, row.source_id, row.url, row.id)


def fallback_placements(conn: Connection) -> list[Fallback]:
    """Every rules placement made in the model's place, oldest run first, each run's in the
    order it placed them."""
    c, m = t.items.c, t.event_members.c
    batches = sorted(set(conn.execute(select(m.added_at).where(m.fallback.is_not(None))).scalars()))
    out = []
    for batch in batches:
        rows = conn.execute(
            select(c.id, c.source_id, c.title, c.body_text, c.filed_at, c.identity_key, c.url,
                   m.event_id, m.relation, m.manual, m.fallback)
            .join(t.event_members, m.item_id == c.id)
            .where(m.added_at == batch, m.manual.is_(False))
        ).all()  # fmt: skip
        rows.sort(key=_placement_order)
        for n, row in enumerate(rows):
            if row.fallback is not None:
                later = frozenset(r.id for r in rows[n + 1 :])
                out.append(Fallback(_ref(row), batch, later))
    return out


def confirm_placement(conn: Connection, item_id: int, similarity: float) -> None:
    """The model placed the story where the rules had: it is no longer a stand-in."""
    conn.execute(
        update(t.event_members)
        .where(t.event_members.c.item_id == item_id)
        .values(fallback=None, similarity=similarity)
    )


def unplace(conn: Connection, item_ids: list[int], now: datetime) -> tuple[list[int], list[int]]:
    """Take automatically placed stories out of their events (events left empty are deleted,
    the others refreshed), so grouping places them again. Returns (the stories taken out, the
    events they left)."""
    m = t.event_members.c
    rows = conn.execute(
        select(m.item_id, m.event_id).where(m.item_id.in_(item_ids), m.manual.is_(False))
    ).all()
    for chunk in _chunks([r.item_id for r in rows]):
        conn.execute(delete(t.event_members).where(m.item_id.in_(chunk)))
    events = sorted({r.event_id for r in rows})
    for event_id in events:
        refresh_event(conn, event_id, now)
    return [r.item_id for r in rows], events


def members_of(conn: Connection, event_ids: list[int]) -> list[int]:
    """The stories of the given events (those that still exist)."""
    m = t.event_members.c
    out: list[int] = []
    for chunk in _chunks(event_ids):
        out += conn.execute(select(m.item_id).where(m.event_id.in_(chunk))).scalars().all()
    return out


def _new_event(conn: Connection, item_id: int, title: str, at: datetime, now: datetime) -> int:
    values = {"title_en": title, "lead_item_id": item_id, "first_seen_at": at,
              "last_seen_at": at, "created_at": now, "updated_at": now}  # fmt: skip
    return int(conn.execute(_NEW_EVENT, values).scalar_one())


def _refresh_statements() -> tuple[Any, Any, Any, Any]:
    """The statements of `refresh_event`, built once: grouping refreshes an event per story, and
    building SQLAlchemy statements cost more than running them."""
    c, j, m, s = t.items.c, t.judgements.c, t.event_members.c, t.sources.c
    in_event = m.event_id == bindparam("event_id")
    lead = (
        select(c.id, c.title, c.language, j.title_en, j.title_zh)
        .join(t.event_members, m.item_id == c.id)
        .join(t.sources, s.id == c.source_id)
        .outerjoin(t.judgements, j.id == c.judgement_id)
        .where(in_event)
        .order_by((s.tier != "T1"), func.length(c.body_text).desc(), c.filed_at, c.id)
        .limit(1)
    )
    span = (
        select(func.min(c.filed_at), func.max(c.filed_at))
        .join(t.event_members, m.item_id == c.id)
        .where(in_event)
    )
    member_sources = (
        select(c.source_id.label("sid")).join(t.event_members, m.item_id == c.id).where(in_event)
    )
    found_sources = (
        select(t.discoveries.c.source_id.label("sid"))
        .join(t.event_members, m.item_id == t.discoveries.c.item_id)
        .where(in_event)
    )
    both = member_sources.union(found_sources).subquery()
    count = select(func.count()).select_from(both)
    save = (
        update(t.events)
        .where(t.events.c.id == bindparam("event_id"))
        .values(
            sources_count=bindparam("sources_count"),
            lead_item_id=bindparam("lead_item_id"),
            title_en=bindparam("title_en"),
            title_zh=bindparam("title_zh"),
            first_seen_at=bindparam("first_seen_at", type_=t.events.c.first_seen_at.type),
            last_seen_at=bindparam("last_seen_at", type_=t.events.c.last_seen_at.type),
            updated_at=bindparam("updated_at", type_=t.events.c.updated_at.type),
        )
    )
    return lead, span, count, save


_LEAD, _SPAN, _COUNT, _SAVE = _refresh_statements()
# Independent sources among the members' own reports (discoveries aside): an event judged as a
# whole needs at least two.
_REPORTING = (
    select(func.count(t.items.c.source_id.distinct()))
    .join(t.event_members, t.event_members.c.item_id == t.items.c.id)
    .where(t.event_members.c.event_id == bindparam("event_id"))
)
_ADD_MEMBER = insert(t.event_members)
_NEW_EVENT = insert(t.events).returning(t.events.c.id)


def refresh_event(conn: Connection, event_id: int, now: datetime) -> None:
    """Coverage, lead and title. Lead: first-party (T1), then the fullest body, then the earliest.

    The title comes from the lead's current judgement (en and zh) when it has one, else from its
    original title; an event with no members left is deleted.
    """
    # Aggregates run in the database, so a hot event with hundreds of reports costs the same
    # few statements as a small one.
    params = {"event_id": event_id}
    lead = conn.execute(_LEAD, params).first()
    if lead is None:
        conn.execute(delete(t.events).where(t.events.c.id == event_id))
        return
    span = conn.execute(_SPAN, params).one()
    sources_count = conn.execute(_COUNT, params).scalar_one()
    if conn.execute(_REPORTING, params).scalar_one() < 2:
        _forget_judgement(conn, event_id)  # one source's reports: its stories speak for themselves
    title_en = lead.title_en or (lead.title if lead.language != "zh" else "") or lead.title
    title_zh = lead.title_zh or (lead.title if lead.language == "zh" else "")
    conn.execute(
        _SAVE,
        {
            "event_id": event_id,
            "sources_count": sources_count,
            "lead_item_id": lead.id,
            "title_en": title_en,
            "title_zh": title_zh,
            "first_seen_at": span[0],
            "last_seen_at": span[1],
            "updated_at": now,
        },
    )


def refresh_titles(conn: Connection, item_ids: list[int], now: datetime) -> int:
    """After judging: events whose stories got a new judgement take their lead's new title."""
    if not item_ids:
        return 0
    m = t.event_members.c
    event_ids = set(conn.execute(select(m.event_id).where(m.item_id.in_(item_ids))).scalars())
    for event_id in event_ids:
        refresh_event(conn, event_id, now)
    return len(event_ids)


# --- editors win ---------------------------------------------------------------------------


def _exists(conn: Connection, event_id: int) -> None:
    if conn.execute(select(t.events.c.id).where(t.events.c.id == event_id)).first() is None:
        raise EventError(f"no event {event_id}")


def merge_events(conn: Connection, keep_id: int, other_id: int, now: datetime) -> int:
    """Move every story of `other_id` into `keep_id`; both sides become manual decisions."""
    if keep_id == other_id:
        raise EventError("an event cannot be merged into itself")
    _exists(conn, keep_id)
    _exists(conn, other_id)
    m = t.event_members.c
    moved = conn.execute(
        update(t.event_members)
        .where(m.event_id == other_id)
        .values(event_id=keep_id, manual=True, added_at=now)
    ).rowcount
    # The merged event's root is now a report of the kept one; one root per event.
    conn.execute(
        update(t.event_members)
        .where(m.event_id == keep_id, m.relation == "lead", m.item_id != _root(conn, keep_id))
        .values(relation="same_occurrence")
    )
    conn.execute(update(t.event_members).where(m.event_id == keep_id).values(manual=True))
    conn.execute(delete(t.events).where(t.events.c.id == other_id))
    _forget_judgement(conn, keep_id)
    refresh_event(conn, keep_id, now)
    return int(moved or 0)


def _forget_judgement(conn: Connection, event_id: int) -> None:
    """An editor changed the event's reports: its judgement (kept in `event_judgements`) no
    longer describes it, so readers see the lead's own until the next pass judges it again."""
    conn.execute(
        update(t.events)
        .where(t.events.c.id == event_id, t.events.c.judgement_id.is_not(None))
        .values(judgement_id=None, tier=None, importance=None)
    )


def _root(conn: Connection, event_id: int) -> int:
    m, c = t.event_members.c, t.items.c
    return int(
        conn.execute(
            select(m.item_id)
            .join(t.items, c.id == m.item_id)
            .where(m.event_id == event_id)
            .order_by((m.relation != "lead"), c.filed_at, c.id)
            .limit(1)
        ).scalar_one()
    )


def split_item(conn: Connection, event_id: int, item_id: int, now: datetime) -> int:
    """Take one story out of an event into an event of its own; both are manual decisions."""
    _exists(conn, event_id)
    m = t.event_members.c
    row = conn.execute(
        select(m.item_id).where(m.event_id == event_id, m.item_id == item_id)
    ).first()
    if row is None:
        raise EventError(f"story {item_id} is not in event {event_id}")
    count = conn.execute(select(func.count()).where(m.event_id == event_id)).scalar_one()
    if count == 1:
        raise EventError(f"story {item_id} is already alone in event {event_id}")
    item = conn.execute(
        select(t.items.c.title, t.items.c.filed_at).where(t.items.c.id == item_id)
    ).one()
    new_id = _new_event(conn, item_id, item.title, item.filed_at, now)
    conn.execute(
        update(t.event_members)
        .where(m.item_id == item_id)
        .values(event_id=new_id, relation="lead", manual=True, added_at=now)
    )
    # The stories left behind stay together by the editor's word too.
    conn.execute(update(t.event_members).where(m.event_id == event_id).values(manual=True))
    if (
        conn.execute(select(m.item_id).where(m.event_id == event_id, m.relation == "lead")).first()
        is None
    ):
        conn.execute(
            update(t.event_members)
            .where(m.item_id == _root(conn, event_id))
            .values(relation="lead")
        )
    _forget_judgement(conn, event_id)
    refresh_event(conn, event_id, now)
    refresh_event(conn, new_id, now)
    return new_id


def reset_grouping(conn: Connection, since: datetime | None, now: datetime) -> int:
    """Forget automatic memberships (of stories filed since `since`) so a pass regroups them.

    Manual memberships stay; events left empty are deleted, the others refreshed.
    """
    m, c = t.event_members.c, t.items.c
    query = select(m.item_id, m.event_id).where(m.manual.is_(False))
    if since is not None:
        query = query.join(t.items, c.id == m.item_id).where(c.filed_at >= since)
    rows = conn.execute(query).all()
    if not rows:
        return 0
    ids = [r.item_id for r in rows]
    for start in range(0, len(ids), 500):
        conn.execute(delete(t.event_members).where(m.item_id.in_(ids[start : start + 500])))
    for event_id in {r.event_id for r in rows}:
        refresh_event(conn, event_id, now)
    return len(rows)


# --- heat ----------------------------------------------------------------------------------


def sightings(conn: Connection, since: datetime) -> dict[int, list[Sighting]]:
    """Per event with any report since `since`: its members' and discoveries' sightings."""
    c, m, d = t.items.c, t.event_members.c, t.discoveries.c
    recent = (select(m.event_id).join(t.items, c.id == m.item_id).where(c.filed_at >= since)).union(
        select(m.event_id).join(t.discoveries, d.item_id == m.item_id).where(d.seen_at >= since)
    )
    hot = select(t.events.c.id).where(t.events.c.heat > 0)  # so stale heat decays to zero
    event_ids = set(conn.execute(recent).scalars()) | set(conn.execute(hot).scalars())
    out: dict[int, list[Sighting]] = defaultdict(list)
    if not event_ids:
        return out
    for chunk in _chunks(sorted(event_ids)):
        for r in conn.execute(
            select(m.event_id, c.source_id, c.filed_at, c.backfill)
            .join(t.items, c.id == m.item_id)
            .where(m.event_id.in_(chunk))
        ):
            out[r.event_id].append(Sighting(r.source_id, r.filed_at, r.backfill))
        for r in conn.execute(
            select(m.event_id, d.source_id, d.seen_at, c.backfill)
            .join(t.event_members, m.item_id == d.item_id)
            .join(t.items, c.id == d.item_id)
            .where(m.event_id.in_(chunk))
        ):
            out[r.event_id].append(Sighting(r.source_id, r.seen_at, r.backfill))
        for event_id in chunk:
            out.setdefault(event_id, [])
    return out


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def save_heat(conn: Connection, heats: dict[int, tuple[float, int]], now: datetime) -> None:
    """Store current heat on each event and in this hour's snapshot (one row per hour)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    h = t.event_heat.c
    for event_id, (heat, sources) in heats.items():
        conn.execute(update(t.events).where(t.events.c.id == event_id).values(heat=heat))
        conn.execute(delete(t.event_heat).where(h.event_id == event_id, h.hour == hour))
        conn.execute(
            insert(t.event_heat).values(
                event_id=event_id, hour=hour, heat=heat, sources_count=sources
            )
        )


HEAT_SCALE = "heat_scale"  # desk_state key: the window heat was last computed on, in hours


def pace_reach(conn: Connection, now: datetime, backfill_counts: bool = False) -> timedelta | None:
    """How far back the desk's last HEAT_PACE_STORIES stories that can add heat reach from
    `now` (all of them when it has fewer; None when it has none)."""
    c = t.items.c
    query = select(c.filed_at).where(c.filed_at <= now)
    if not backfill_counts:
        query = query.where(c.backfill.is_(False))
    times = conn.execute(query.order_by(c.filed_at.desc()).limit(HEAT_PACE_STORIES)).scalars()
    oldest = min(times, default=None)
    return None if oldest is None else now - oldest


def save_heat_scale(conn: Connection, scale: HeatScale, now: datetime) -> None:
    """Store the scale heat was computed on, written only when it changed (a write ends every
    page kept until the desk changes)."""
    hours = str(int(scale.window / timedelta(hours=1)))
    row = state.get(conn, HEAT_SCALE)
    if row is None or row.value != hours:
        state.put(conn, HEAT_SCALE, hours, now)


def heat_scale(conn: Connection) -> HeatScale:
    """The scale the stored heat was computed on (48 h before any pass stored one)."""
    row = state.get(conn, HEAT_SCALE)
    return HeatScale(timedelta(hours=int(row.value))) if row is not None else HeatScale()


def prune_heat(conn: Connection, now: datetime, keep: timedelta = timedelta(days=14)) -> None:
    conn.execute(delete(t.event_heat).where(t.event_heat.c.hour < now - keep))
