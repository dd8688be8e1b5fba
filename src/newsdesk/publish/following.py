"""One person's follows as stories: the `/following` page (grouped by what was followed, newest
first, what is new since they last looked marked), and the stories of their personal feeds.
Everything is read through `list_cards`, so a story the read layer hides is hidden here too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Connection, select

from newsdesk.publish.read import PUBLIC_TIERS, BadRequest, list_cards
from newsdesk.store import follows as store
from newsdesk.store import schema as t

PER_FOLLOW = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LABELS = {"event": "story", "tag": "tag", "entity": "entity", "source": "source",
          "search": "search"}  # fmt: skip


def _event_ids(conn: Connection, event_id: int) -> list[int]:
    m = t.event_members.c
    return list(conn.execute(select(m.item_id).where(m.event_id == event_id)).scalars())


def _source_name(conn: Connection, source_id: str) -> str:
    found = conn.execute(select(t.sources.c.name).where(t.sources.c.id == source_id)).scalar()
    return str(found or source_id)


def cards_of(
    conn: Connection, kind: str, target: str, *, limit: int, tz: str, now: datetime | None
) -> list[dict[str, Any]]:
    """The public stories one follow brings, newest first (a search: best match first)."""
    common: dict[str, Any] = {"tiers": PUBLIC_TIERS, "limit": limit, "tz": tz, "now": now}
    try:
        if kind == "event":
            ids = _event_ids(conn, int(target))
            if not ids:
                return []
            return list_cards(conn, ids=ids, collapse_events=False, **common).cards
        if kind in ("tag", "entity"):
            return list_cards(conn, tag=target, **common).cards
        if kind == "source":
            return list_cards(conn, source=target, **common).cards
        if kind == "search":
            return list_cards(conn, q=target, **common).cards
    except BadRequest:
        return []
    return []


def _where(
    conn: Connection, kind: str, target: str, cards: list[dict[str, Any]]
) -> tuple[str, str]:
    """(label, link) of a follow."""
    if kind == "event":
        title = cards[-1]["title"]["en"] or cards[-1]["title"]["zh"] if cards else ""
        return title or f"Event {target}", f"/events/{target}"
    if kind in ("tag", "entity"):
        return f"#{target}", "/tags/" + quote(target, safe="/")
    if kind == "source":
        return _source_name(conn, target), "/all?" + urlencode({"source": target})
    return f"“{target}”", "/all?" + urlencode({"q": target})


def groups(
    conn: Connection, user_id: int, *, tz: str = "UTC", now: datetime | None = None,
    per_follow: int = PER_FOLLOW,
) -> list[dict[str, Any]]:  # fmt: skip
    """Each follow with its newest stories, those filed since the person last looked marked
    `new`; groups with new stories first, then by their newest story."""
    rows = store.of(conn, user_id)
    marks = store.event_marks(conn, user_id, [int(r.target) for r in rows if r.kind == "event"])
    out = []
    for row in rows:
        cards = cards_of(conn, row.kind, row.target, limit=per_follow, tz=tz, now=now)
        if row.kind != "search":
            cards.sort(key=lambda c: c["filed_at"], reverse=True)
        label, href = _where(conn, row.kind, row.target, cards)
        new = {c["id"] for c in cards if c["filed_at"] > row.seen_at}
        out.append({
            "id": row.id, "kind": row.kind, "kind_label": LABELS[row.kind], "target": row.target,
            "label": label, "href": href, "alert": row.alert, "seen_at": row.seen_at,
            "cards": cards, "new": new,
            "fresh": marks.get(int(row.target), False) if row.kind == "event" else bool(new),
            "newest": max((c["filed_at"] for c in cards), default=None),
        })  # fmt: skip
    out.sort(key=lambda g: (bool(g["new"]) or g["fresh"], g["newest"] or EPOCH), reverse=True)
    return out


def feed_cards(
    conn: Connection, user_id: int, *, limit: int = 50, tz: str = "UTC",
    now: datetime | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every story the person's follows bring, newest first, once each: their personal feed."""
    seen: dict[int, dict[str, Any]] = {}
    for row in store.of(conn, user_id):
        for card in cards_of(conn, row.kind, row.target, limit=limit, tz=tz, now=now):
            seen.setdefault(card["id"], card)
    return sorted(seen.values(), key=lambda c: (c["filed_at"], c["id"]), reverse=True)[:limit]
