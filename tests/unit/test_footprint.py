"""Caches are bounded by what their entries really keep alive, so a crawler paging through the
whole history cannot grow the server past its memory budget (issue 17 point 5)."""

from __future__ import annotations

import sys
import tracemalloc
from datetime import UTC, datetime

from newsdesk.publish.cards import CardStore
from newsdesk.publish.footprint import FOOTPRINT, footprint
from newsdesk.publish.memo import _Reads
from newsdesk.publish.read import CardPage
from newsdesk.web.deps import PageMemo


def card(n: int) -> dict:
    """A card shaped like the read layer's: nested dicts, a long analysis, a version."""
    c = {
        "id": n, "url": f"https://lab.example/{n}", "title": {"en": f"Story {n} " * 8, "zh": ""},
        "summary": {"en": "word " * 80, "zh": ""}, "sharp": {"en": f"analysis {n} " * 300},
        "tags": ("Reasoning", "Agent"), "filed_at": datetime(2026, 1, 1, tzinfo=UTC),
        "version": (1, (n, "hash" * 16, 3, datetime(2026, 1, 1, tzinfo=UTC))),
    }  # fmt: skip
    c[FOOTPRINT] = footprint(c) - sys.getsizeof(c)
    return c


def test_a_kept_page_of_card_copies_weighs_what_its_cards_hold() -> None:
    cards = [card(n) for n in range(30)]
    copies = [c | {"age": "5h ago"} for c in cards]
    weight = footprint(CardPage(copies, "cursor"))
    # what the copies keep alive, walked object by object, is never more than the weight
    walked = sum(sys.getsizeof(x) for x in copies) + sum(c[FOOTPRINT] for c in cards)
    assert weight >= walked
    assert weight > 30 * 4000  # each card's analysis alone is ~4 KB, not "a kilobyte a page"


def test_the_card_store_stays_under_its_bytes_as_measured_by_tracemalloc() -> None:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = CardStore(size=100_000, max_bytes=1024 * 1024)
        for n in range(2000):  # ~8 MB of cards offered to a 1 MB store
            c = card(n)
            store.put(n, "UTC", c["version"][1], c)
            del c
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1.5 * 1024 * 1024  # the cap (plus the store's own tables)
    assert store.get(1999, "UTC", card(1999)["version"][1]) is not None  # the newest is kept


def test_kept_reads_and_pages_count_what_they_hold() -> None:
    reads = _Reads(size=1000, max_bytes=1024 * 1024)
    for n in range(100):  # each a page of 30 card copies: ~200 KB of cards each
        reads.put(
            ("feed", n), (1, float("inf"), CardPage([card(n * 30 + k) for k in range(30)], None))
        )
    kept = [n for n in range(100) if reads.get(("feed", n)) is not None]
    assert 1 <= len(kept) <= 10 and 99 in kept  # bounded by bytes, the newest kept

    pages = PageMemo(size=1000, max_bytes=1024 * 1024)
    for n in range(100):
        pages.put(("page", n), b"<li>card</li>" * 10_000)  # 130 KB pages
    assert sum(1 for n in range(100) if pages.get(("page", n)) is not None) <= 8
    assert pages.get(("page", 99)) is not None  # a repeated URL is still a hit
