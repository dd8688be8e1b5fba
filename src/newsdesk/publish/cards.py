"""Cards kept by version: building a card (its verdict, commentary and event read and turned
into a dict) cost more than finding which cards a page shows, and a card changes only when
the pipeline writes to it.

A card's *version* is read from the database on every request, for the cards of that page only:
the story's row (source, URL, content hash, revision, dates, current judgement, and
`updated_at`, which a change of its media moves), its source's names and tiers, the multi-
source event it leads and that event's judgement, its event and coverage count, and the newest
commentary of the story and of that event. Every write that changes what a card shows changes
one of these (a new judgement or event judgement is a new row, commentary is appended, a
revision bumps `revision` and the content hash, grouping moves `event_members` and
`sources_count`), so a kept card whose version still matches is the card the full query would
build, and a changed one is rebuilt at once: no time-to-live, nothing to invalidate by hand.

Cards are kept per engine (a process may open several databases) and without their relative
age, which the read layer adds per request. The store is bounded by what its cards really
hold (`publish/footprint.py`, measured once as a card is built: 6–7 KB for a card with its
sharp analysis and version, not the 2 KB once assumed), so a reader paging through the whole
history cannot grow the process past its budget.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, func, select

from newsdesk.publish.footprint import FOOTPRINT, footprint, tree_footprint
from newsdesk.store import schema as t
from newsdesk.store.per_engine import PerEngine
from newsdesk.store.prepared import fetch_all

MAX_CARDS = 20_000
MAX_BYTES = 24 * 1024 * 1024  # measured footprints: ~3,500 cards of 7 KB, over 100 pages
CHUNK = 200  # ids per version statement (the API's largest page)
Version = tuple[Any, ...]
Card = dict[str, Any]


class CardStore:
    """(story id, version, time zone) -> card dict, least recently used out first."""

    def __init__(self, size: int = MAX_CARDS, max_bytes: int = MAX_BYTES) -> None:
        self.size, self.max_bytes = size, max_bytes
        self._total = 0
        # in what renderers key their copies by: two databases of one process (tests) may
        # hold the same story id at the same version
        self.serial = next(_SERIALS)
        self._kept: OrderedDict[tuple[int, str], tuple[Version, Card, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, item_id: int, tz: str, version: Version) -> Card | None:
        with self._lock:
            hit = self._kept.get((item_id, tz))
            if hit is None or hit[0] != version:
                return None
            self._kept.move_to_end((item_id, tz))
            return hit[1]

    def put(self, item_id: int, tz: str, version: Version, card: Card) -> None:
        """Keep `card` (which carries its fields' measured bytes under FOOTPRINT)."""
        key = (item_id, tz)
        weight = footprint(card) + tree_footprint(version)
        with self._lock:
            old = self._kept.pop(key, None)
            if old is not None:
                self._total -= old[2]
            self._kept[key] = (version, card, weight)
            self._total += weight
            while len(self._kept) > self.size or (self._total > self.max_bytes and self._kept):
                _, (_, _, dropped) = self._kept.popitem(last=False)
                self._total -= dropped


_SERIALS = itertools.count(1)
_BUILT = itertools.count(1)
store_for: PerEngine[CardStore] = PerEngine(lambda engine: CardStore())


def version_query(n: int) -> Select[Any]:
    """The version of each card in `:i0`..`:i{n-1}` (primary-key probes for the page's stories
    only)."""
    i, s, m, e = t.items.c, t.sources.c, t.event_members.c, t.events.c
    led = t.events.alias("led_v")
    c_item, c_event = t.commentary.alias("c_item"), t.commentary.alias("c_event")
    newest_item_comment = (
        select(func.max(c_item.c.id)).where(c_item.c.item_id == i.id).scalar_subquery()
    )
    newest_event_comment = (
        select(func.max(c_event.c.id)).where(c_event.c.event_id == led.c.id).scalar_subquery()
    )
    return (
        select(
            i.id, i.source_id, i.url, i.content_hash, i.revision, i.judgement_id,
            i.published_at, i.filed_at, i.backfill, i.language, i.updated_at,
            s.name, s.name_zh, s.kind, s.tier, s.group_name,
            led.c.id, led.c.judgement_id, m.event_id, e.sources_count,
            newest_item_comment, newest_event_comment,
        )
        .join(t.sources, s.id == i.source_id)
        .outerjoin(led, and_(led.c.lead_item_id == i.id, led.c.judgement_id.is_not(None)))
        .outerjoin(t.event_members, m.item_id == i.id)
        .outerjoin(t.events, e.id == m.event_id)
        .where(i.id.in_([bindparam(f"i{k}") for k in range(n)]))
    )  # fmt: skip


def cards_by_id(
    conn: Connection, ids: list[int], tz: str, build: Callable[[list[int]], dict[int, Card]]
) -> dict[int, Card]:
    """The current card of each id that has one: kept ones whose version still matches, the
    others built by `build(missing ids)` and kept."""
    if not ids:
        return {}
    store = store_for(conn.engine)
    versions = {}
    for start in range(0, len(ids), CHUNK):  # one compiled statement per count up to CHUNK
        chunk = list(dict.fromkeys(ids[start : start + CHUNK]))
        rows = fetch_all(conn, ("card versions", len(chunk)), lambda n=len(chunk): version_query(n),
                         {f"i{k}": item_id for k, item_id in enumerate(chunk)})  # fmt: skip
        versions.update((row[0], tuple(row[1:])) for row in rows)
    found: dict[int, Card] = {}
    missing = []
    for item_id, version in versions.items():
        card = store.get(item_id, tz, version)
        if card is None:
            missing.append(item_id)
        else:
            found[item_id] = card
    if missing:
        for item_id, card in build(missing).items():
            # renderers' key: this card as built (a card built again, even at the same version,
            # is a new number); two small ints, so a key that keeps it keeps nothing more
            card["version"] = (store.serial, next(_BUILT))
            # its fields' bytes: a copy of the card (with its age) is then weighed without
            # walking them again
            card[FOOTPRINT] = tree_footprint(card) - sys.getsizeof(card)
            found[item_id] = card
            store.put(item_id, tz, versions[item_id], card)
    return found
