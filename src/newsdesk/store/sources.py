"""Source administration and push queues: what `newsdesk sources` and POST /api/ingest need.

Kept apart from repo.py so the collect work does not crowd the shared repository module.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from newsdesk.domain import Source, feed_url_key
from newsdesk.store import schema as t
from newsdesk.store.repo import upsert_sources


def token_hash(token: str) -> str:
    """Push tokens are stored as SHA-256: a leaked database does not leak working tokens."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def import_sources(conn: Connection, sources: list[Source], now: datetime) -> tuple[int, int]:
    """Explicit import (`sources add|import`): new ones added, known ones refreshed, removed
    ones revived. Returns (added, updated)."""
    ids = [s.id for s in sources]
    known = set(conn.execute(select(t.sources.c.id).where(t.sources.c.id.in_(ids))).scalars())
    _revive(conn, known)
    upsert_sources(conn, sources, now)
    return len(set(ids) - known), len(known)


def _revive(conn: Connection, ids: set[str]) -> None:
    """Removed sources named again by an explicit import come back."""
    if ids:
        conn.execute(
            update(t.sources)
            .where(t.sources.c.id.in_(ids), t.sources.c.status == "removed")
            .values(status="new", enabled=True)
        )


def set_token(conn: Connection, source_id: str, token: str) -> None:
    conn.execute(
        update(t.sources).where(t.sources.c.id == source_id).values(token_hash=token_hash(token))
    )


def set_enabled(conn: Connection, source_id: str, enabled: bool) -> bool:
    done = conn.execute(
        update(t.sources)
        .where(t.sources.c.id == source_id, t.sources.c.status != "removed")
        .values(enabled=enabled)
    )
    return done.rowcount > 0


def remove_source(conn: Connection, source_id: str) -> bool:
    """Removed sources stop polling and leave lists; their stories stay on the desk, and a
    catalog refresh does not bring them back (only `sources add|import` does)."""
    done = conn.execute(
        update(t.sources)
        .where(t.sources.c.id == source_id, t.sources.c.status != "removed")
        .values(enabled=False, status="removed", token_hash=None)
    )
    return done.rowcount > 0


def known_urls(conn: Connection) -> dict[str, str]:
    """Source id by `feed_url_key` of its URL."""
    rows = conn.execute(select(t.sources.c.url, t.sources.c.id)).all()
    return {feed_url_key(url): source_id for url, source_id in rows}


def import_opml(conn: Connection, sources: list[Source], now: datetime) -> tuple[int, int]:
    """Sources from an OPML file, matched to the desk by feed URL: their ids were only made
    from names, and the file knows nothing of our kinds, tiers or options. A feed already
    followed is left as it is (revived if it was removed); a new one whose made-up id is
    taken gets a free one, so a second list with another "Wire" never overwrites the first.
    Returns (added, already followed)."""
    by_url = known_urls(conn)
    taken = set(by_url.values())
    new: list[Source] = []
    followed: set[str] = set()
    for source in sources:
        if (known := by_url.get(feed_url_key(source.url))) is not None:
            followed.add(known)
            continue
        source_id, n = source.id, 2
        while source_id in taken:
            source_id, n = f"{source.id}-{n}", n + 1
        taken.add(source_id)
        new.append(replace(source, id=source_id))
    _revive(conn, followed)
    upsert_sources(conn, new, now)
    return len(new), len(followed)


def items_since(conn: Connection, source_id: str, since: datetime) -> int:
    """Stories a source brought since a moment: its own plus those it discovered."""
    own = conn.execute(
        select(func.count())
        .select_from(t.items)
        .where(t.items.c.source_id == source_id, t.items.c.first_seen_at >= since)
    ).scalar_one()
    found = conn.execute(
        select(func.count())
        .select_from(t.discoveries)
        .where(t.discoveries.c.source_id == source_id, t.discoveries.c.seen_at >= since)
    ).scalar_one()
    return int(own) + int(found)


def items_last_7d(conn: Connection, source_id: str, now: datetime) -> int:
    return items_since(conn, source_id, now - timedelta(days=7))


# --- push ----------------------------------------------------------------------------------


def push_source_for_token(conn: Connection, token: str) -> Any | None:
    return conn.execute(
        select(t.sources.c.id, t.sources.c.name).where(
            t.sources.c.token_hash == token_hash(token),
            t.sources.c.kind == "push",
            t.sources.c.enabled.is_(True),
        )
    ).first()


def queue_pushed(
    conn: Connection, source_id: str, payloads: list[dict[str, Any]], now: datetime
) -> None:
    if payloads:
        conn.execute(
            insert(t.pushed_entries),
            [{"source_id": source_id, "received_at": now, "payload": p} for p in payloads],
        )


def take_pushed(conn: Connection, source_id: str, now: datetime) -> list[dict[str, Any]]:
    """Pending pushed entries of a source, marked taken in the same transaction."""
    c = t.pushed_entries.c
    rows = conn.execute(
        select(c.id, c.payload)
        .where(and_(c.source_id == source_id, c.taken_at.is_(None)))
        .order_by(c.id)
    ).all()
    if rows:
        conn.execute(
            update(t.pushed_entries).where(c.id.in_([r.id for r in rows])).values(taken_at=now)
        )
    return [dict(r.payload) for r in rows]


# --- full text -----------------------------------------------------------------------------


def items_for_full_text(conn: Connection, limit: int, ids: list[int] | None = None) -> list[Any]:
    """Stories whose body has not been checked yet; live news first, newest first."""
    c = t.items.c
    query = select(c.id, c.url, c.body_text)
    if ids is not None:
        query = query.where(c.id.in_(ids))
    return list(
        conn.execute(
            query.where(c.fulltext_status.is_(None))
            .order_by(c.backfill, c.filed_at.desc())
            .limit(limit)
        )
    )


def save_full_text(
    conn: Connection, item_id: int, status: str, body_text: str = "", body_html: str = ""
) -> None:
    """The content hash stays the feed's, so the next poll of the same teaser is unchanged."""
    values: dict[str, Any] = {"fulltext_status": status}
    if status == "ok":
        values |= {"body_text": body_text, "body_html": body_html}
    conn.execute(update(t.items).where(t.items.c.id == item_id).values(**values))
