"""Anonymous cards are rendered once and kept; any change of what a card shows renders anew."""

from __future__ import annotations

import copy
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from newsdesk.web.cards import CardCache

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "newsdesk" / "web" / "templates"


def env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)


CARD = {
    "id": 7, "url": "https://lab.example/7", "title": {"en": "Lab ships <Nova>", "zh": ""},
    "summary": {"en": "A summary.", "zh": ""}, "language": "en", "tier": "p1",
    "importance": 88, "age": "5h ago", "time_hm": "11:00", "date_md": "01·31",
    "source": {"id": "lab", "name": "Lab", "kind": "rss"}, "tags": ["Reasoning"],
    "hkr": {"h": True, "k": True, "r": False}, "event": {"id": 1, "sources_count": 3},
}  # fmt: skip


def test_cached_card_matches_the_macro_and_follows_changes() -> None:
    e = env()
    cache = CardCache(e, size=2)
    fresh = e.from_string('{% from "_card.html" import card with context %}{{ card(c) }}').render(
        c=CARD, editor=None, saved=set()
    )
    first = cache(CARD)
    assert str(first) == fresh and "&lt;Nova&gt;" in first  # escaped like the macro
    assert cache(copy.deepcopy(CARD)) is first  # equal data: the kept HTML
    older = copy.deepcopy(CARD) | {"age": "6h ago"}
    assert "6h ago" in cache(older) and cache(older) is not first
    rejudged = copy.deepcopy(CARD) | {"importance": 91}
    assert ">91<" in cache(rejudged)
    assert len(cache._kept) == 2  # bounded: the oldest entry went


def test_feed_list_uses_the_cache_only_for_anonymous_readers() -> None:
    e = env()
    calls = []
    cache = CardCache(e)

    def counting(card: dict) -> object:
        calls.append(card["id"])
        return cache(card)

    e.globals["cached_card"] = counting
    tpl = e.get_template("_feed_list.html")
    days = [("Today", [CARD])]
    anon = tpl.render(days=days, editor=None, saved=set())
    assert calls == [7] and "Lab ships" in anon and "sign in to save" in anon

    class Editor:
        csrf = "tok-123"

    signed_in = tpl.render(days=days, editor=Editor(), saved={7})
    assert calls == [7]  # an editor's card carries their token and saved state: rendered afresh
    assert "tok-123" in signed_in and "★ saved" in signed_in
