"""Rows of event-level judgement and commentary (multi-source events are judged once).

`event_judgements` is append-only like `judgements`; `events.judgement_id`, `tier` and
`importance` point at the current one. An editor's merge or split clears the pointer
(`store/events.py`), so the next pass judges the changed event afresh.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, or_, select, update

from newsdesk.domain import Commentary, Item, Judgement, Source
from newsdesk.store import schema as t
from newsdesk.store.repo import (
    current_fallback_alike,
    current_verdict,
    insert_commentary,
    item_from_row,
    judgement_values,
    source_from_row,
)

MEMBER_TEXT = 600  # the excerpt of each other report the commentary reads


@dataclass
class EventTodo:
    """One multi-source event as the editor needs it: lead, its source, the other reports."""

    event_id: int
    lead_id: int
    lead: Item
    lead_revision: int
    source: Source
    sources_count: int
    members: list[dict[str, Any]] = field(default_factory=list)  # the other reports
    member_ids: frozenset[int] = frozenset()
    judged: Any = None  # the current event judgement row, if any


def _multi_source_events(conn: Connection, event_ids: list[int]) -> dict[int, list[Any]]:
    """Members of those events whose reports come from two or more sources."""
    i, m, s = t.items.c, t.event_members.c, t.sources.c
    rows: dict[int, list[Any]] = defaultdict(list)
    for start in range(0, len(event_ids), 500):
        for r in conn.execute(
            select(m.event_id, i.id, i.title, i.filed_at, i.source_id, i.body_text,
                   s.name.label("source_name"), s.tier.label("source_tier"))
            .join(t.items, i.id == m.item_id)
            .join(t.sources, s.id == i.source_id)
            .where(m.event_id.in_(event_ids[start : start + 500]))
            .order_by(i.filed_at, i.id)
        ):  # fmt: skip
            rows[r.event_id].append(r)
    return {e: members for e, members in rows.items() if len({r.source_id for r in members}) >= 2}


def _todos(conn: Connection, event_rows: list[Any]) -> list[EventTodo]:
    members = _multi_source_events(conn, [r.id for r in event_rows])
    event_rows = [r for r in event_rows if r.id in members and r.lead_item_id is not None]
    if not event_rows:
        return []
    lead_ids = [r.lead_item_id for r in event_rows]
    leads = {r.id: r for r in conn.execute(select(t.items).where(t.items.c.id.in_(lead_ids)))}
    sources = {
        s.id: source_from_row(s)
        for s in conn.execute(
            select(t.sources).where(t.sources.c.id.in_({r.source_id for r in leads.values()}))
        )
    }
    judged_ids = [r.judgement_id for r in event_rows if r.judgement_id is not None]
    judged = {
        r.id: r
        for r in conn.execute(
            select(t.event_judgements).where(t.event_judgements.c.id.in_(judged_ids or [-1]))
        )
    }
    out = []
    for r in event_rows:
        lead = leads[r.lead_item_id]
        others = [
            {"title": x.title, "source": x.source_name, "source_tier": x.source_tier,
             "filed_at": x.filed_at, "text": x.body_text[:MEMBER_TEXT]}
            for x in members[r.id] if x.id != lead.id
        ]  # fmt: skip
        out.append(
            EventTodo(
                event_id=r.id,
                lead_id=lead.id,
                lead=item_from_row(lead),
                lead_revision=lead.revision,
                source=sources[lead.source_id],
                sources_count=r.sources_count,
                members=others,
                member_ids=frozenset(x.id for x in members[r.id]),
                judged=judged.get(r.judgement_id),
            )
        )
    return out


def events_to_judge(
    conn: Connection, limit: int = 5000, ids: list[int] | None = None
) -> list[EventTodo]:
    """Multi-source events with no judgement, or changed since their last one.

    Whether a change matters (another lead, a coverage bonus step) is the editor's call
    (`editor/event.py: rejudge_due`); this only narrows the events to look at.
    """
    e, ej = t.events.c, t.event_judgements.c
    query = select(e.id, e.lead_item_id, e.sources_count, e.judgement_id)
    if ids is not None:
        query = query.where(e.id.in_(ids))
    rows = conn.execute(
        query.outerjoin(t.event_judgements, ej.id == e.judgement_id)
        .where(e.sources_count >= 2)
        # a rules verdict given in the model's place is due for the model (ej.fallback)
        .where(
            or_(e.judgement_id.is_(None), e.updated_at > ej.created_at, ej.fallback.is_not(None))
        )
        .order_by(e.last_seen_at.desc(), e.id.desc())
        .limit(limit)
    ).all()
    return _todos(conn, list(rows))


def events_to_comment(
    conn: Connection, limit: int = 500, ids: list[int] | None = None
) -> list[tuple[EventTodo, Any]]:
    """Model-judged p1 and featured events whose current judgement has no commentary yet."""
    e, ej, c = t.events.c, t.event_judgements.c, t.commentary.c
    has_commentary = exists().where(and_(c.event_id == e.id, c.created_at >= ej.created_at))
    query = select(e.id, e.lead_item_id, e.sources_count, e.judgement_id)
    if ids is not None:
        query = query.where(e.id.in_(ids))
    rows = conn.execute(
        query.join(t.event_judgements, ej.id == e.judgement_id)
        .where(e.tier.in_(("p1", "featured")), ej.editor != "rules", ~has_commentary)
        .order_by(e.importance.desc(), e.last_seen_at.desc())
        .limit(limit)
    ).all()
    return [(todo, todo.judged) for todo in _todos(conn, list(rows)) if todo.judged is not None]


def multi_source_item_ids(conn: Connection, item_ids: list[int]) -> set[int]:
    """Those of `item_ids` that belong to an event with reports from two or more sources:
    they get the event's commentary, never their own."""
    if not item_ids:
        return set()
    m = t.event_members.c
    out: set[int] = set()
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start : start + 500]
        pairs = conn.execute(select(m.item_id, m.event_id).where(m.item_id.in_(chunk))).all()
        multi = _multi_source_events(conn, sorted({p.event_id for p in pairs}))
        out |= {p.item_id for p in pairs if p.event_id in multi}
    return out


def in_multi_source_event() -> Any:
    """A correlated condition on `items`: the story's event has a report from another source."""
    m, m2, i2 = t.event_members.c, t.event_members.alias("m2"), t.items.alias("i2")
    return exists(
        select(m.item_id)
        .join(m2, m2.c.event_id == m.event_id)
        .join(i2, i2.c.id == m2.c.item_id)
        .where(m.item_id == t.items.c.id, i2.c.source_id != t.items.c.source_id)
        .correlate(t.items)
    )


def save_event_judgement(
    conn: Connection,
    event_id: int,
    judgement: Judgement,
    basis: tuple[int, int, int, int],
    receipt_id: int | None,
    now: datetime,
) -> int:
    """Append an event judgement and make it the event's current verdict.

    `basis` is (lead item, lead revision, sources count, coverage bonus) at judging time."""
    lead_id, revision, sources_count, bonus = basis
    judgement_id = conn.execute(
        insert(t.event_judgements)
        .values(
            event_id=event_id, created_at=now, **judgement_values(judgement),
            receipt_id=receipt_id, lead_item_id=lead_id, lead_revision=revision,
            sources_count=sources_count, coverage_bonus=bonus,
        )
        .returning(t.event_judgements.c.id)
    ).scalar_one()  # fmt: skip
    conn.execute(
        update(t.events)
        .where(t.events.c.id == event_id)
        .values(**current_verdict(judgement_id, judgement))
    )
    return int(judgement_id)


def forget_if_coverage_changed(conn: Connection, event_ids: list[int]) -> int:
    """Of the given events, those judged with another sources count than they have now (a
    regroup moved reports in or out) lose their current verdict, as after an editor's merge:
    readers see the lead's own until the next judge_events step judges them again (from its
    receipt when the question is unchanged). Returns how many."""
    e, ej = t.events.c, t.event_judgements.c
    changed = []
    for start in range(0, len(event_ids), 500):
        rows = conn.execute(
            select(e.id)
            .join(t.event_judgements, ej.id == e.judgement_id)
            .where(e.id.in_(event_ids[start : start + 500]), ej.sources_count != e.sources_count)
        )
        changed += [r.id for r in rows]
    for start in range(0, len(changed), 500):
        conn.execute(
            update(t.events)
            .where(e.id.in_(changed[start : start + 500]))
            .values(judgement_id=None, tier=None, importance=None)
        )
    return len(changed)


def judgement_unchanged(conn: Connection, event_id: int, judged_id: int | None) -> bool:
    """True when the event's current judgement is still the one its todo was read with (none,
    or an older one), or one that keeps it due (a rules verdict in the model's place): no other
    job judged it meanwhile. Locks the event's row (PostgreSQL)."""
    e = t.events.c
    row = conn.execute(
        select(e.judgement_id, e.judge_error).where(e.id == event_id).with_for_update()
    ).first()
    return row is not None and (row.judgement_id == judged_id or row.judge_error is not None)


def fallback_alike(conn: Connection, event_id: int, judgement: Judgement) -> bool:
    """`repo.fallback_alike` for a multi-source event."""
    return current_fallback_alike(conn, t.events, t.event_judgements, event_id, judgement)


def mark_event_error(conn: Connection, event_id: int, message: str) -> None:
    conn.execute(update(t.events).where(t.events.c.id == event_id).values(judge_error=message))


def save_event_commentary(
    conn: Connection,
    event_id: int,
    commentary: Commentary,
    policy_version: str,
    receipt_id: int | None,
    now: datetime,
) -> int:
    """An event's take and sharp, written once for the event rather than per report."""
    return insert_commentary(conn, {"event_id": event_id}, commentary, policy_version,
                             receipt_id, now)  # fmt: skip
