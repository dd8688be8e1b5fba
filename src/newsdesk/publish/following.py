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


def follow_pairs(card: dict[str, Any]) -> list[tuple[str, str]]:
    """What a card offers to follow beside its event: the entities it names (its entity
    chips), its other tags, its source."""
    tags = card.get("tags") or {}
    if isinstance(tags, dict):
        entities = list(dict.fromkeys(tags.get("entities") or ()))
        others = [*(tags.get("capabilities") or ()), *(tags.get("topics") or ())]
    else:  # a card in the API's flat shape
        entities, others = [], list(tags)
    out = [("entity", e) for e in entities if e]
    out += [("tag", x) for x in dict.fromkeys(others) if x and x not in entities]
    source = (card.get("source") or {}).get("id")
    if source:
        out.append(("source", str(source)))
    return out


def source_name(conn: Connection, source_id: str) -> str:
    found = conn.execute(select(t.sources.c.name).where(t.sources.c.id == source_id)).scalar()
    return str(found or source_id)


def cards_of(
    conn: Connection, kind: str, target: str, *, limit: int, tz: str, now: datetime | None,
    news: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    """The public stories one follow brings, newest first (a search: best match first).

    A tag, an entity or a source shows an event once, as its lead (a page to read); with
    `news` (what alerts tell), its lead and every report with new facts instead, each on its
    own, and no plain repeat: a development joining an event whose lead was backfill, or was
    told already, is news to those who follow what it names."""
    common: dict[str, Any] = {"tiers": PUBLIC_TIERS, "limit": limit, "tz": tz, "now": now}
    if news and kind in ("tag", "entity", "source"):
        field = "source" if kind == "source" else "tag"
        try:
            found = list_cards(conn, **{field: target}, collapse_events=False, **common).cards
        except BadRequest:
            return []
        told = store.repeats(conn, [c["id"] for c in found])
        return [c for c in found if c["id"] not in told]
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
        return source_name(conn, target), "/all?" + urlencode({"source": target})
    return f"“{target}”", "/all?" + urlencode({"q": target})


def groups(
    conn: Connection, user_id: int, *, tz: str = "UTC", now: datetime | None = None,
    per_follow: int = PER_FOLLOW,
) -> list[dict[str, Any]]:  # fmt: skip
    """Each follow with its newest stories, those that reached the desk since the person last
    looked marked `new`; groups with new stories first, then by their newest story.

    New is by arrival (`first_seen_at`), not by the story's own date: a feed is read minutes
    or hours after it publishes, so a story dated before the last look can still be one the
    person has not seen. A followed event's new stories are those with new facts, and a tag,
    entity or source shows an event once, as its lead: the lead
    is marked new too when a story with new facts joined its event since (a development, a
    first-party report, a different figure; store/follows.py), as a followed event is."""
    rows = store.of(conn, user_id)
    marks = store.event_marks(conn, user_id, [int(r.target) for r in rows if r.kind == "event"])
    read = [(row, cards_of(conn, row.kind, row.target, limit=per_follow, tz=tz, now=now))
            for row in rows]  # fmt: skip
    arrived = _arrived(conn, [c["id"] for _, cards in read for c in cards])
    out = []
    for row, cards in read:
        if row.kind != "search":
            cards.sort(key=lambda c: c["filed_at"], reverse=True)
        label, href = _where(conn, row.kind, row.target, cards)
        new = {c["id"] for c in cards if arrived.get(c["id"], c["filed_at"]) > row.seen_at}
        if row.kind == "event":  # one more outlet repeating it is not news (store/follows.py)
            new &= store.new_fact_items(conn, int(row.target), row.seen_at)
        elif row.kind in ("tag", "entity", "source"):
            leads = {c["event"]["id"]: c["id"] for c in cards if c.get("event")}
            fresh = store.fresh_events(conn, dict.fromkeys(leads, row.seen_at)) if leads else set()
            new |= {leads[e] for e in fresh}
        out.append({
            "id": row.id, "kind": row.kind, "kind_label": LABELS[row.kind], "target": row.target,
            "label": label, "href": href, "alert": row.alert, "seen_at": row.seen_at,
            "cards": cards, "new": new,
            "fresh": marks.get(int(row.target), False) if row.kind == "event" else bool(new),
            "newest": max((c["filed_at"] for c in cards), default=None),
        })  # fmt: skip
    out.sort(key=lambda g: (bool(g["new"]) or g["fresh"], g["newest"] or EPOCH), reverse=True)
    return out


def _arrived(conn: Connection, ids: list[int]) -> dict[int, datetime]:
    """When each of these stories first reached the desk."""
    if not ids:
        return {}
    i = t.items.c
    rows = conn.execute(select(i.id, i.first_seen_at).where(i.id.in_(set(ids))))
    return {r.id: r.first_seen_at for r in rows}


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
