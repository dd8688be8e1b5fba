"""Admin reads for the editor's desk work: flagged stories, events to merge or split, and
sources waiting for (or back from) their test fetch. Editors only; `web/admin_desk.py` checks
the session first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, or_, select

from newsdesk.domain import is_row_id
from newsdesk.store import schema as t

TEST_STATUSES = ("testing", "tested", "test_failed")


def flagged_stories(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    """The faithfulness guard's flags, newest first, grouped per story: each flag names the
    field, what the guard did (repaired or dropped) and the unsupported spans that made it."""
    g, i = t.guard_flags.c, t.items.c
    rows = conn.execute(
        select(g.id, g.item_id, g.step, g.field, g.action, g.spans, g.text, g.created_at,
               i.title, i.tier, i.importance, i.source_id)
        .join(t.items, i.id == g.item_id)
        .order_by(g.created_at.desc(), g.id.desc())
        .limit(limit)
    ).all()  # fmt: skip
    stories: dict[int, dict[str, Any]] = {}
    for r in rows:
        story = stories.setdefault(
            r.item_id,
            {"item_id": r.item_id, "title": r.title, "tier": r.tier, "importance": r.importance,
             "source_id": r.source_id, "last": r.created_at, "flags": []},
        )  # fmt: skip
        spans = [str(s) for s in (r.spans or [])]
        reason = (
            f"{r.action}: not in the source text or context: {', '.join(spans)}"
            if spans
            else r.action
        )
        story["flags"].append(
            {"step": r.step, "field": r.field, "action": r.action, "spans": spans,
             "reason": reason, "text": r.text, "at": r.created_at}
        )  # fmt: skip
    return list(stories.values())


def recent_events(conn: Connection, query: str = "", limit: int = 50) -> list[Any]:
    """Events for the merge/split page: newest first, or those whose id or title matches."""
    e, m = t.events.c, t.event_members.c
    size = select(func.count()).where(m.event_id == e.id).correlate(t.events).scalar_subquery()
    stmt = select(e.id, e.title_en, e.sources_count, e.heat, e.last_seen_at, size.label("size"))
    query = query.strip()
    if query.isdigit():
        stmt = stmt.where(e.id == int(query))
    elif query:
        stmt = stmt.where(or_(e.title_en.ilike(f"%{query}%"), e.title_zh.ilike(f"%{query}%")))
    return list(conn.execute(stmt.order_by(e.last_seen_at.desc(), e.id.desc()).limit(limit)))


def event_members(conn: Connection, event_id: int) -> tuple[Any, list[Any]] | None:
    """One event and its stories with their relation and whether an editor placed them."""
    if not is_row_id(event_id):
        return None
    e, m, i = t.events.c, t.event_members.c, t.items.c
    event = conn.execute(select(e.id, e.title_en).where(e.id == event_id)).first()
    if event is None:
        return None
    members = conn.execute(
        select(m.item_id, m.relation, m.manual, i.title, i.source_id, i.filed_at, i.tier)
        .join(t.items, i.id == m.item_id)
        .where(m.event_id == event_id)
        .order_by(i.filed_at, i.id)
    ).all()
    return event, list(members)


def source_tests(conn: Connection) -> list[dict[str, Any]]:
    """Sources added in the admin pages and their test fetch: waiting, or the entries found
    and the error of the latest attempt (recorded by the runner, never by a page)."""
    s, f = t.sources.c, t.fetch_runs.c
    rows = conn.execute(
        select(t.sources).where(s.status.in_(TEST_STATUSES)).order_by(s.created_at.desc())
    ).all()
    out = []
    for r in rows:
        run = conn.execute(
            select(f.entries, f.error_code, f.error_message, f.finished_at, f.http_status)
            .where(f.source_id == r.id)
            .order_by(f.id.desc())
            .limit(1)
        ).first()
        out.append(
            {"id": r.id, "name": r.name, "url": r.url, "kind": r.kind, "tier": r.tier,
             "enabled": r.enabled, "status": r.status,
             "entries": run.entries if run and r.status != "testing" else None,
             "error_code": r.last_error_code if r.status == "test_failed" else None,
             "error_message": r.last_error_message if r.status == "test_failed" else None,
             "tested_at": run.finished_at if run and r.status != "testing" else None}
        )  # fmt: skip
    return out
