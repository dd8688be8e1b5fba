"""Reads for the admin pages: runs, fetch failures, usage and cost, budgets, policy versions and
the feedback inbox. Editors only; the routes in `web/admin.py` check the session first."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from newsdesk.store import schema as t

USAGE_WINDOWS = (("today", None), ("7 days", 7), ("30 days", 30))


def recent_runs(conn: Connection, limit: int = 30) -> list[Any]:
    r = t.pipeline_runs.c
    return list(conn.execute(select(t.pipeline_runs).order_by(r.id.desc()).limit(limit)).all())


def fetch_failures(conn: Connection, since: datetime) -> list[Any]:
    """Failed fetches since a time, grouped by source and error code: failures of the collect
    stage. (Judge failures are items with a judge_error, counted separately.)"""
    f = t.fetch_runs.c
    return list(
        conn.execute(
            select(f.source_id, f.error_code, func.count().label("n"),
                   func.max(f.started_at).label("last"), func.max(f.error_message).label("msg"))
            .where(f.error_code.is_not(None), f.started_at >= since)
            .group_by(f.source_id, f.error_code)
            .order_by(func.count().desc())
        ).all()
    )  # fmt: skip


def judge_failures(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(t.items).where(t.items.c.judge_error.is_not(None))
        ).scalar_one()
    )


def usage_summary(conn: Connection, now: datetime, tz: str = "UTC") -> list[dict[str, Any]]:
    """Calls, tokens and cost per step (purpose) and model, for today, 7 days and 30 days."""
    from zoneinfo import ZoneInfo

    u = t.usage.c
    local_midnight = now.astimezone(ZoneInfo(tz)).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for label, days in USAGE_WINDOWS:
        since = local_midnight.astimezone(UTC) if days is None else now - timedelta(days=days)
        rows = conn.execute(
            select(u.purpose, u.model, func.count().label("calls"),
                   func.coalesce(func.sum(u.tokens_in), 0).label("tokens_in"),
                   func.coalesce(func.sum(u.tokens_out), 0).label("tokens_out"),
                   func.sum(u.cost).label("cost"))
            .where(u.created_at >= since)
            .group_by(u.purpose, u.model)
            .order_by(u.purpose, u.model)
        ).all()  # fmt: skip
        total = sum((r.cost or 0.0) for r in rows)
        out.append({"label": label, "rows": rows, "total_cost": total})
    return out


def model_pause(conn: Connection) -> Any:
    """Why model steps are paused now (a spent budget, as the last model step said), or None."""
    return conn.execute(select(t.desk_state).where(t.desk_state.c.key == "paused")).first()


def budgets(conn: Connection) -> list[Any]:
    b = t.budgets.c
    return list(conn.execute(select(t.budgets).order_by(b.service, b.window)).all())


def known_services(conn: Connection) -> list[str]:
    """Services (model endpoints' hosts) that have been paid for, for the budget form."""
    u = t.usage.c
    return list(conn.execute(select(u.service).distinct().order_by(u.service)).scalars())


def policy_versions(conn: Connection) -> list[Any]:
    p = t.policy_versions.c
    return list(
        conn.execute(
            select(p.version, p.created_at, p.active).order_by(p.created_at.desc(), p.version)
        ).all()
    )


def policy_text(conn: Connection, version: str | None = None) -> tuple[str, str] | None:
    """(version, text) of a given version, else of the active one."""
    p = t.policy_versions.c
    query = select(p.version, p.text)
    query = query.where(p.version == version) if version else query.where(p.active.is_(True))
    row = conn.execute(query).first()
    return (row.version, row.text) if row else None


def policy_diff(old: str, new: str, old_name: str, new_name: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line) pairs; kind is add, del, hunk or ctx for styling."""
    out = []
    for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_name, new_name, lineterm="", n=3
    ):
        kind = "ctx"
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        out.append((kind, line))
    return out


def feedback_inbox(conn: Connection, limit: int = 200) -> list[Any]:
    f, i, j = t.feedback.c, t.items.c, t.judgements.c
    return list(
        conn.execute(
            select(f.id, f.item_id, f.kind, f.note, f.editor, f.created_at, f.origin,
                   f.tier.label("tier_then"), f.importance.label("importance_then"),
                   f.hkr.label("hkr_then"), f.policy_version, i.title, i.tier, i.importance,
                   j.title_en)
            .join(t.items, i.id == f.item_id)
            .outerjoin(t.judgements, j.id == i.judgement_id)
            .order_by(f.created_at.desc(), f.id.desc())
            .limit(limit)
        ).all()
    )  # fmt: skip
