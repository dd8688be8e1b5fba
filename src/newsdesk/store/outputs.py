"""Rows the outputs need: reports, the notification outbox, reader-app marks, tag counts.

Kept apart from repo.py so the outputs work does not collide with the pipeline's repository.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from newsdesk.domain import clock
from newsdesk.store import schema as t

PUBLIC_TIERS = ("p1", "featured", "all")

# --- reports -------------------------------------------------------------------------------


def brief_candidates(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Public stories filed in [start, end), backfill included, with event and coverage."""
    i, s, j, m, e = t.items.c, t.sources.c, t.judgements.c, t.event_members.c, t.events.c
    rows = conn.execute(
        select(
            i.id, i.url, i.title, i.tier, i.importance, i.filed_at, s.id.label("source_id"),
            s.name.label("source_name"), s.tier.label("source_tier"),
            s.group_name.label("source_group"), j.title_en, j.summary_en, j.tags,
            m.event_id, e.sources_count,
        )
        .join(t.sources, s.id == i.source_id)
        .join(t.judgements, j.id == i.judgement_id)
        .outerjoin(t.event_members, m.item_id == i.id)
        .outerjoin(t.events, e.id == m.event_id)
        .where(i.tier.in_(PUBLIC_TIERS), i.filed_at >= start, i.filed_at < end)
        .order_by(i.filed_at, i.id)
    ).all()  # fmt: skip
    return [r._asdict() for r in rows]


def awaiting_judgement(conn: Connection, start: datetime, end: datetime) -> int:
    """Stories filed in [start, end) that the editor still owes a verdict: none yet, or the
    rules' in the model's place (a held or failed call) that the model's will replace."""
    i = t.items.c
    due = or_(i.judgement_id.is_(None), i.judge_error.is_not(None))
    query = select(func.count()).where(i.filed_at >= start, i.filed_at < end, due)
    return int(conn.execute(query).scalar_one())


def briefed_since(conn: Connection, first_period: str, before_period: str) -> list[dict[str, Any]]:
    """Data of the daily briefs with first_period <= period < before_period."""
    r = t.reports.c
    rows = conn.execute(
        select(r.data)
        .where(r.kind == "daily", r.period >= first_period, r.period < before_period)
        .order_by(r.period)
    )
    return [row.data for row in rows]


def save_report(
    conn: Connection, kind: str, period: str, markdown: str, data: dict[str, Any], now: datetime
) -> None:
    """Insert or replace the report for (kind, period)."""
    r = t.reports.c
    found = conn.execute(
        select(r.id).where(r.kind == kind, r.period == period)
    ).scalar_one_or_none()
    values = {"markdown": markdown, "data": data, "created_at": now}
    if found is None:
        conn.execute(insert(t.reports).values(kind=kind, period=period, **values))
    else:
        conn.execute(update(t.reports).where(r.id == found).values(**values))


def get_report(conn: Connection, kind: str, period: str) -> dict[str, Any] | None:
    r = t.reports.c
    row = conn.execute(select(t.reports).where(r.kind == kind, r.period == period)).first()
    return row._asdict() if row else None


def list_reports(
    conn: Connection, kind: str, limit: int = 60, start: str | None = None, end: str | None = None
) -> list[dict[str, Any]]:
    """Reports of a kind, newest period first, optionally with start <= period <= end."""
    r = t.reports.c
    query = select(t.reports).where(r.kind == kind)
    if start:
        query = query.where(r.period >= start)
    if end:
        query = query.where(r.period <= end)
    rows = conn.execute(query.order_by(r.period.desc()).limit(limit))
    return [row._asdict() for row in rows]


# --- public lists --------------------------------------------------------------------------


def tag_counts(conn: Connection, limit: int = 200) -> list[tuple[str, int]]:
    it, i = t.item_tags.c, t.items.c
    n = func.count().label("n")
    rows = conn.execute(
        select(it.tag, n)
        .join(t.items, i.id == it.item_id)
        .where(i.tier.in_(PUBLIC_TIERS))
        .group_by(it.tag)
        .order_by(n.desc(), it.tag)
        .limit(limit)
    )
    return [(row.tag, int(row.n)) for row in rows]


def public_sources(conn: Connection) -> list[dict[str, Any]]:
    s, i = t.sources.c, t.items.c
    n = func.count(i.id).label("stories")
    rows = conn.execute(
        select(
            s.id, s.name, s.name_zh, s.kind, s.group_name, s.language, s.tier, s.status,
            s.last_success_at, n,
        )
        .outerjoin(t.items, (i.source_id == s.id) & i.tier.in_(PUBLIC_TIERS))
        .where(s.enabled.is_(True))
        .group_by(s.id)
        .order_by(s.id)
    ).all()  # fmt: skip
    return [r._asdict() for r in rows]


# --- notification outbox -------------------------------------------------------------------


def stories_to_notify(
    conn: Connection, since: datetime, tiers: tuple[str, ...] = ("p1",), item_id: int | None = None
) -> list[dict[str, Any]]:
    """Live (never backfill) stories of some tiers first seen since a moment (or one of them)."""
    i, s, j = t.items.c, t.sources.c, t.judgements.c
    rows = conn.execute(
        select(i.id, i.url, i.title, i.tier, i.importance, s.name.label("source_name"),
               j.title_en, j.title_zh, j.summary_en, j.summary_zh, j.tags)
        .join(t.sources, s.id == i.source_id)
        .join(t.judgements, j.id == i.judgement_id)
        .where(i.tier.in_(tiers), i.backfill.is_(False), i.first_seen_at >= since)
        .where(True if item_id is None else i.id == item_id)
        .order_by(i.id)
    ).all()  # fmt: skip
    return [r._asdict() for r in rows]


def enqueue(conn: Connection, kind: str, ref: str, target: str, now: datetime) -> bool:
    """Add a delivery to the outbox unless it is there already; True when added."""
    n = t.notifications.c
    exists = conn.execute(
        select(n.id).where(n.kind == kind, n.ref == ref, n.target == target)
    ).first()
    if exists:
        return False
    conn.execute(
        insert(t.notifications).values(
            kind=kind, ref=ref, target=target, status="pending", attempts=0, created_at=now
        )
    )
    return True


DESK_KINDS = ("story", "daily")  # NEWSDESK_NOTIFY_URLS' deliveries; a person's: alert, digest


def pending_deliveries(
    conn: Connection, max_attempts: int, kinds: tuple[str, ...] = DESK_KINDS
) -> list[dict[str, Any]]:
    n = t.notifications.c
    rows = conn.execute(
        select(t.notifications)
        .where(n.status == "pending", n.attempts < max_attempts, n.kind.in_(kinds))
        .order_by(n.id)
    )
    return [r._asdict() for r in rows]


def record_delivery(
    conn: Connection, delivery_id: int, ok: bool, error: str | None, now: datetime, give_up: bool
) -> None:
    n = t.notifications.c
    status = "sent" if ok else ("failed" if give_up else "pending")
    conn.execute(
        update(t.notifications)
        .where(n.id == delivery_id)
        .values(
            status=status,
            attempts=n.attempts + 1,
            last_error=None if ok else (error or "")[:500],
            sent_at=now if ok else None,
        )
    )


def notification_rows(conn: Connection) -> list[dict[str, Any]]:
    return [
        r._asdict() for r in conn.execute(select(t.notifications).order_by(t.notifications.c.id))
    ]


# --- reader-app marks ----------------------------------------------------------------------


def _marks_table(user_id: int | None) -> tuple[Any, list[Any], dict[str, int]]:
    """Where a reader's marks live: an account's in `user_marks`, the NEWSDESK_READER_* pair's
    (user_id None) in `reader_marks`. (table, conditions naming the reader, key values)."""
    if user_id is None:
        return t.reader_marks, [], {}
    return t.user_marks, [t.user_marks.c.user_id == user_id], {"user_id": user_id}


def marks_for(
    conn: Connection, item_ids: list[int], user_id: int | None = None
) -> dict[int, tuple[bool, bool]]:
    if not item_ids:
        return {}
    table, mine, _ = _marks_table(user_id)
    rows = conn.execute(select(table).where(table.c.item_id.in_(item_ids), *mine))
    return {row.item_id: (row.read, row.starred) for row in rows}


def set_mark(
    conn: Connection, item_ids: list[int], now: datetime, *, read: bool | None = None,
    starred: bool | None = None, user_id: int | None = None,
) -> None:  # fmt: skip
    table, mine, key = _marks_table(user_id)
    known = set(conn.execute(select(t.items.c.id).where(t.items.c.id.in_(item_ids))).scalars())
    current = marks_for(conn, list(known), user_id)
    for item_id in known:
        was_read, was_starred = current.get(item_id, (False, False))
        values = {
            "read": was_read if read is None else read,
            "starred": was_starred if starred is None else starred,
            "updated_at": now,
        }
        if item_id in current:
            conn.execute(update(table).where(table.c.item_id == item_id, *mine).values(**values))
        else:
            conn.execute(insert(table).values(item_id=item_id, **key, **values))


def mark_all_read(
    conn: Connection, tiers: tuple[str, ...], tag: str | None, before: datetime | None,
    now: datetime, user_id: int | None = None,
) -> int:  # fmt: skip
    """Mark every public story of a stream read (filed up to `before`, when given)."""
    i = t.items.c
    query = select(i.id).where(i.tier.in_(tiers))
    if tag:
        query = query.where(i.id.in_(select(t.item_tags.c.item_id).where(t.item_tags.c.tag == tag)))
    if before is not None:
        query = query.where(i.filed_at <= before)
    ids = list(conn.execute(query).scalars())
    for start in range(0, len(ids), 500):
        set_mark(conn, ids[start : start + 500], now, read=True, user_id=user_id)
    return len(ids)


def reader_item_ids(
    conn: Connection,
    *,
    tiers: tuple[str, ...],
    tag: str | None = None,
    starred: bool = False,
    exclude_read: bool = False,
    since: datetime | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 20,
    user_id: int | None = None,
) -> list[tuple[int, datetime]]:
    """Public story ids for a reader stream, newest first, keyset-paginated by (filed_at, id);
    read and starred are the reader's own (`user_id`, or the NEWSDESK_READER_* pair)."""
    i = t.items.c
    table, mine, _ = _marks_table(user_id)
    r = table.c
    query = select(i.id, i.filed_at).where(i.tier.in_(tiers))
    if tag:
        query = query.where(i.id.in_(select(t.item_tags.c.item_id).where(t.item_tags.c.tag == tag)))
    if starred:
        query = query.where(i.id.in_(select(r.item_id).where(r.starred.is_(True), *mine)))
    if exclude_read:
        query = query.where(i.id.not_in(select(r.item_id).where(r.read.is_(True), *mine)))
    if since is not None:
        query = query.where(i.filed_at >= since)
    if before is not None:
        when, item_id = before
        # `filed_at <= when` too: an index range to start from (the OR alone has none)
        query = query.where(
            i.filed_at <= when, (i.filed_at < when) | ((i.filed_at == when) & (i.id < item_id))
        )
    rows = conn.execute(query.order_by(i.filed_at.desc(), i.id.desc()).limit(limit))
    return [(row.id, row.filed_at) for row in rows]


def reader_unread_count(
    conn: Connection, tiers: tuple[str, ...], tag: str | None = None, user_id: int | None = None
) -> int:
    i = t.items.c
    table, mine, _ = _marks_table(user_id)
    r = table.c
    query = (
        select(func.count())
        .select_from(t.items)
        .where(i.tier.in_(tiers), i.id.not_in(select(r.item_id).where(r.read.is_(True), *mine)))
    )
    if tag:
        query = query.where(i.id.in_(select(t.item_tags.c.item_id).where(t.item_tags.c.tag == tag)))
    return int(conn.execute(query).scalar_one())


FULL_TEXT_TAG = "full-text"


def full_texts(conn: Connection, item_ids: list[int]) -> dict[int, str]:
    """Stored (sanitised) bodies of the stories whose source allows republishing them: the
    operator opts a source in by adding the tag "full-text" to it in the catalog."""
    if not item_ids:
        return {}
    i, s, tr = t.items.c, t.sources.c, t.item_transcripts.c
    rows = conn.execute(
        select(i.id, i.body_html, s.tags, tr.segments)
        .join(t.sources, s.id == i.source_id)
        .outerjoin(t.item_transcripts, and_(tr.item_id == i.id, tr.status == "ok"))
        .where(i.id.in_(item_ids))
    )
    out = {}
    for r in rows:
        if FULL_TEXT_TAG in (r.tags or []) and (r.body_html or r.segments):
            out[r.id] = (r.body_html or "") + transcript_html(r.segments or [])
    return out


def transcript_html(segments: list[Any], limit: int = 100_000) -> str:
    """An episode's transcript as the full-text feed carries it: one paragraph a passage, its
    time and speaker first, every word escaped."""
    if not segments:
        return ""
    parts, total = ["<h3>Transcript</h3>"], 0
    for start, _end, speaker, said in segments:
        total += len(said)
        if total > limit:
            break
        who = f"{html.escape(speaker)}: " if speaker else ""
        parts.append(f"<p>[{clock(float(start))}] {who}{html.escape(said)}</p>")
    return "".join(parts)
