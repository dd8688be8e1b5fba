"""Rows of the editor: receipts, usage, commentary, guard flags, policy versions.

Every function takes a Connection, like `repo.py`; the runner's `StoreReceipts` calls them
through the single write path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, and_, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from newsdesk.domain import Commentary, Item, Source
from newsdesk.store import schema as t
from newsdesk.store.event_judgements import in_multi_source_event
from newsdesk.store.policy import add_version, seed
from newsdesk.store.repo import insert_commentary, item_from_row, source_from_row
from newsdesk.store.search import search_item_ids

# --- receipts ------------------------------------------------------------------------------


def peek_receipt(
    conn: Connection,
    service: str,
    purpose: str,
    model: str,
    input_hash: str,
    now: datetime,
    hold: timedelta,
) -> tuple[int, str, dict[str, Any] | None, datetime | None] | None:
    """What `open_receipt` would decide, without writing: None when there is no receipt yet.
    The provider looks before it waits for a call slot, so answered and held calls never
    queue behind calls being sent."""
    row = conn.execute(_find_receipt(service, purpose, model, input_hash)).first()
    return None if row is None else _decision(row, now, hold)


def _find_receipt(service: str, purpose: str, model: str, input_hash: str) -> Select[Any]:
    """The receipt of one question, with what `_decision` reads of it."""
    r = t.receipts.c
    return select(r.id, r.status, r.response, r.sent_at, r.created_at).where(
        r.service == service, r.purpose == purpose, r.model == model, r.input_hash == input_hash
    )


def _decision(
    row: Any, now: datetime, hold: timedelta
) -> tuple[int, str, dict[str, Any] | None, datetime | None]:
    """ok: the stored answer; held: sent with no answer stored, within the hold; else send."""
    if row.status == "ok":
        return int(row.id), "ok", row.response, None
    sent_at = row.sent_at or row.created_at
    if row.status in ("pending", "unknown") and now < sent_at + hold:
        return int(row.id), "held", None, sent_at + hold
    return int(row.id), "send", None, None


def open_receipt(
    conn: Connection,
    service: str,
    purpose: str,
    model: str,
    input_hash: str,
    now: datetime,
    hold: timedelta,
) -> tuple[int, str, dict[str, Any] | None, datetime | None]:
    """(id, decision, stored response, held until). decision: ok, send or held.

    "send" marks the row pending with `sent_at = now` in the same transaction, so a crash
    between here and the answer leaves a pending row that later passes hold, not re-send.
    """
    r = t.receipts.c
    # Insert first, one statement for a question not asked before (every new story's): the
    # read, savepoint and insert it used to take were four round trips. A receipt there
    # already (asked before, or opened by another writer a moment ago) is read and decided.
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    rid = conn.execute(
        make(t.receipts)
        .values(
            service=service,
            purpose=purpose,
            model=model,
            input_hash=input_hash,
            status="pending",
            created_at=now,
            sent_at=now,
            attempts=1,
        )
        .on_conflict_do_nothing()
        .returning(r.id)
    ).scalar()
    if rid is not None:
        return int(rid), "send", None, None
    row = conn.execute(_find_receipt(service, purpose, model, input_hash)).first()
    assert row is not None
    decided = _decision(row, now, hold)
    if decided[1] != "send":
        return decided
    conn.execute(
        update(t.receipts)
        .where(r.id == row.id)
        .values(status="pending", sent_at=now, error=None, attempts=r.attempts + 1)
    )
    return int(row.id), "send", None, None


def settle_receipt(
    conn: Connection,
    receipt_id: int,
    response: dict[str, Any],
    now: datetime,
    usage: dict[str, Any],
) -> None:
    conn.execute(
        update(t.receipts)
        .where(t.receipts.c.id == receipt_id)
        .values(status="ok", response=response, completed_at=now, error=None)
    )
    conn.execute(insert(t.usage).values(receipt_id=receipt_id, created_at=now, **usage))


def fail_receipt(conn: Connection, receipt_id: int, status: str, error: str, now: datetime) -> None:
    conn.execute(
        update(t.receipts)
        .where(t.receipts.c.id == receipt_id)
        .values(status=status, error=error[:1000], completed_at=now)
    )


def spent(conn: Connection, service: str, since: datetime) -> tuple[int, int, float]:
    u = t.usage.c
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(u.tokens_in + u.tokens_out), 0),
            func.coalesce(func.sum(u.cost), 0.0),
        ).where(and_(u.service == service, u.created_at >= since))
    ).one()
    return int(row[0]), int(row[1]), float(row[2])


def budget_limits(conn: Connection, service: str) -> dict[str, tuple[Any, Any, Any]]:
    """Editors' budgets for one service: window -> (max calls, max tokens, max cost)."""
    b = t.budgets.c
    rows = conn.execute(
        select(b.window, b.max_calls, b.max_tokens, b.max_cost).where(b.service == service)
    )
    return {r.window: (r.max_calls, r.max_tokens, r.max_cost) for r in rows}


def usage_summary(conn: Connection, since: datetime | None) -> list[dict[str, Any]]:
    """Calls, tokens, latency and cost per (service, purpose, model) since a moment."""
    u = t.usage.c
    query = select(
        u.service, u.purpose, u.model, func.count().label("calls"),
        func.sum(u.tokens_in).label("tokens_in"), func.sum(u.tokens_out).label("tokens_out"),
        func.avg(u.latency_ms).label("latency_ms"), func.sum(u.cost).label("cost"),
        func.count(u.cost).label("priced"),
    ).group_by(u.service, u.purpose, u.model).order_by(u.service, u.purpose, u.model)  # fmt: skip
    if since is not None:
        query = query.where(u.created_at >= since)
    return [dict(r._mapping) for r in conn.execute(query)]


def receipt_counts(conn: Connection) -> dict[str, int]:
    r = t.receipts.c
    return dict(conn.execute(select(r.status, func.count()).group_by(r.status)).all())  # type: ignore[arg-type]


# --- commentary and guard flags ------------------------------------------------------------


def save_commentary(
    conn: Connection,
    item_id: int,
    commentary: Commentary,
    policy_version: str,
    receipt_id: int | None,
    now: datetime,
) -> int:
    """A story's take and sharp (append-only)."""
    return insert_commentary(conn, {"item_id": item_id}, commentary, policy_version,
                             receipt_id, now)  # fmt: skip


def commentary_due(conn: Connection, owner: dict[str, int], judgement: Any) -> bool:
    """True when the story or event (`owner`: {"item_id": …} or {"event_id": …}) still has
    `judgement` as its current one and no commentary made since: of two jobs that commented
    it at once, only the first stores its commentary. Locks the owner's row (PostgreSQL)."""
    ((column, owner_id),) = owner.items()
    table = t.items if column == "item_id" else t.events
    current = conn.execute(
        select(table.c.judgement_id).where(table.c.id == owner_id).with_for_update()
    ).scalar()
    if current != judgement.id:
        return False
    c = t.commentary.c
    newer = conn.execute(
        select(c.id).where(c[column] == owner_id, c.created_at >= judgement.created_at).limit(1)
    ).first()
    return newer is None


def save_guard_flags(
    conn: Connection, item_id: int, step: str, flags: list[Any], now: datetime
) -> None:
    if flags:
        conn.execute(
            insert(t.guard_flags),
            [
                {"item_id": item_id, "step": step, "field": f.field, "action": f.action,
                 "spans": list(f.spans), "text": f.text[:4000], "created_at": now}
                for f in flags
            ],
        )  # fmt: skip


def items_to_comment(
    conn: Connection, limit: int = 500, ids: list[int] | None = None
) -> list[tuple[int, Item, Source, Any]]:
    """p1 and featured stories judged by a model whose current judgement has no commentary,
    outside multi-source events (those are commented once, as an event)."""
    i, j, c = t.items.c, t.judgements.c, t.commentary.c
    has_commentary = exists().where(and_(c.item_id == i.id, c.created_at >= j.created_at))
    query = select(t.items, j.id.label("j_id"))
    if ids is not None:
        query = query.where(i.id.in_(ids))
    rows = conn.execute(
        query.join(t.judgements, j.id == i.judgement_id)
        .where(i.tier.in_(("p1", "featured")))
        .where(j.editor != "rules")
        .where(~has_commentary)
        .where(~in_multi_source_event())  # the event's commentary speaks for its reports
        .order_by(i.importance.desc(), i.filed_at.desc())
        .limit(limit)
    ).all()
    if not rows:
        return []
    sources = {
        s.id: source_from_row(s)
        for s in conn.execute(
            select(t.sources).where(t.sources.c.id.in_({r.source_id for r in rows}))
        )
    }
    judgements = {
        r.id: r for r in conn.execute(select(t.judgements).where(j.id.in_([r.j_id for r in rows])))
    }
    return [(r.id, item_from_row(r), sources[r.source_id], judgements[r.j_id]) for r in rows]


def related_stories(
    conn: Connection,
    item_id: int,
    query: str,
    before: datetime,
    limit: int = 5,
    exclude: frozenset[int] = frozenset(),
) -> list[dict[str, Any]]:
    """Earlier judged stories that match the query words, best first (the search index);
    `exclude` leaves out an event's own reports, which are not its history."""
    words = [w for w in query.split() if len(w) >= 3][:6]
    ids: list[int] = []
    # Every word must match in the index, so widen from the full query to its strongest words.
    for n in range(len(words), 0, -1):
        found = search_item_ids(conn, " ".join(words[:n]), limit=50)
        ids = [x for x in found if x != item_id and x not in exclude]
        if ids:
            break
    if not ids:
        return []
    i, j = t.items.c, t.judgements.c
    rows = conn.execute(
        select(i.id, i.title, i.filed_at, i.source_id, j.title_en, j.summary_en, j.summary_zh)
        .outerjoin(t.judgements, j.id == i.judgement_id)
        .where(i.id.in_(ids))
        .where(i.filed_at < before)
    ).all()
    # Newest first among the matches: a stable order (search ranks tie), so the same story
    # gets the same prompt on a rerun and its receipt is reused.
    rows.sort(key=lambda r: (r.filed_at, r.id), reverse=True)
    return [
        {"title": r.title_en or r.title, "filed_at": r.filed_at, "source": r.source_id,
         "summary": r.summary_en or r.summary_zh or ""}
        for r in rows[:limit]
    ]  # fmt: skip


# --- policy versions -----------------------------------------------------------------------


def record_policy_version(conn: Connection, version: str, text: str, now: datetime) -> bool:
    """Remember a policy the desk judged with. The active version is the one an editor
    activated (`store/policy.py`); a desk with none yet takes this one as version 1."""
    known = conn.execute(
        select(t.policy_versions.c.version).where(t.policy_versions.c.version == version)
    ).first()
    seed(conn, version, text, now)
    if known is None:
        add_version(conn, version, text, now, origin="file")
    return known is None


def policy_versions(conn: Connection) -> list[dict[str, Any]]:
    p, j = t.policy_versions.c, t.judgements.c
    counts = dict(
        conn.execute(select(j.policy_version, func.count()).group_by(j.policy_version)).all()
    )
    rows = conn.execute(select(p.version, p.created_at, p.active).order_by(p.created_at.desc()))
    return [{**dict(r._mapping), "judgements": counts.get(r.version, 0)} for r in rows]


def calls_on_the_wire(conn: Connection, service: str, since: datetime, exclude: int | None) -> int:
    """Receipts sent and not yet answered (by any process): calls a budget must count."""
    r = t.receipts.c
    query = select(func.count()).where(r.service == service, r.status == "pending",
                                       r.sent_at >= since)  # fmt: skip
    if exclude is not None:
        query = query.where(r.id != exclude)
    return int(conn.execute(query).scalar_one())
