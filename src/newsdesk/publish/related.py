"""Related stories: the public stories nearest in meaning to one story, outside its event.

Nearest by the stored vectors of the desk's bundled model (`publish.search.related_ids`),
filed within 30 days of the story, above a cosine of 0.45; the story's own event is left out
(its members are the coverage, shown beside), and so is anything not public.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from newsdesk.publish.read import PUBLIC_TIERS, list_cards
from newsdesk.publish.search import related_ids
from newsdesk.store import schema as t

DAYS = 30
SHOWN = 5


def related(
    conn: Connection,
    item_id: int,
    limit: int = SHOWN,
    tz: str = "UTC",
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` related public stories, nearest first: id, title, source, age, cosine."""
    near = related_ids(conn, item_id, days=DAYS, limit=4 * limit)
    if not near:
        return []
    m = t.event_members.c
    event = select(m.event_id).where(m.item_id == item_id).scalar_subquery()
    same = set(conn.execute(select(m.item_id).where(m.event_id == event)).scalars())
    wanted = [i for i, _ in near if i not in same]
    cards = list_cards(conn, tiers=PUBLIC_TIERS, ids=wanted, limit=len(wanted) or 1,
                       collapse_events=False, tz=tz, now=now).cards  # fmt: skip
    by_id = {c["id"]: c for c in cards}
    cosine = dict(near)
    out = []
    for i in wanted:
        card = by_id.get(i)
        if card is None:
            continue
        out.append({"id": i, "title": card["title"], "source": card["source"]["name"],
                    "age": card.get("age", ""), "day": card["day"].strftime("%Y-%m-%d"),
                    "cosine": round(cosine[i], 3)})  # fmt: skip
        if len(out) == limit:
            break
    return out
