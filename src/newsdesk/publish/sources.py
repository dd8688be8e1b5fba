"""Source health for readers of the desk: `newsdesk sources list` and the /sources page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from newsdesk.store import schema as t


def _counts(conn: Connection, since: datetime | None) -> dict[str, int]:
    own = select(t.items.c.source_id, func.count()).group_by(t.items.c.source_id)
    found = select(t.discoveries.c.source_id, func.count()).group_by(t.discoveries.c.source_id)
    if since is not None:
        own = own.where(t.items.c.first_seen_at >= since)
        found = found.where(t.discoveries.c.seen_at >= since)
    counts: dict[str, int] = {}
    for source_id, n in [*conn.execute(own).all(), *conn.execute(found).all()]:
        counts[source_id] = counts.get(source_id, 0) + int(n)
    return counts


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def source_health(
    conn: Connection, now: datetime | None = None, include_removed: bool = False
) -> list[dict[str, Any]]:
    """One dict per source (times as ISO 8601 UTC strings), sorted by id.

    status: new (never fetched), ok, error (failed lately), failing (5+ failures in a row,
    retried daily), removed. Items count the source's own stories plus its discoveries."""
    now = now or datetime.now(UTC)
    week = _counts(conn, now - timedelta(days=7))
    total = _counts(conn, None)
    query = select(t.sources).order_by(t.sources.c.id)
    if not include_removed:
        query = query.where(t.sources.c.status != "removed")
    out = []
    for row in conn.execute(query):
        out.append(
            {
                "id": row.id,
                "name": row.name,
                "name_zh": row.name_zh,
                "url": row.url,
                "kind": row.kind,
                "group": row.group_name,
                "language": row.language,
                "tier": row.tier,
                "enabled": bool(row.enabled),
                "status": row.status,
                "last_fetch_at": _iso(row.last_fetch_at),
                "last_success_at": _iso(row.last_success_at),
                "consecutive_failures": row.consecutive_failures,
                "last_error_code": row.last_error_code,
                "last_error_message": row.last_error_message,
                "next_poll_at": _iso(row.next_poll_at),
                "items_7d": week.get(row.id, 0),
                "items_total": total.get(row.id, 0),
                "cadence_min": row.cadence_min,
                "cadence_max": row.cadence_max,
            }
        )
    return out
