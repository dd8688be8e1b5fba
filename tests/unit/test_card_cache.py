"""Anonymous cards are rendered once and kept; any change of what a card shows renders anew."""

from __future__ import annotations

import copy
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from newsdesk.publish.following import follow_pairs
from newsdesk.web.cards import CardCache, card_globals
from newsdesk.web.deps import EditorSession

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "newsdesk" / "web" / "templates"


def env() -> Environment:
    e = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True)
    card_globals(e)  # the card's HTML is written in Python (web/card_html.py)
    return e


CARD = {
    "id": 7, "url": "https://lab.example/7", "title": {"en": "Lab ships <Nova>", "zh": ""},
    "summary": {"en": "A summary.", "zh": ""}, "language": "en", "tier": "p1",
    "importance": 88, "age": "5h ago", "time_hm": "11:00", "date_md": "01·31",
    "source": {"id": "lab", "name": "Lab", "kind": "rss"}, "tags": ["Reasoning"],
    "hkr": {"h": True, "k": True, "r": False}, "event": {"id": 1, "sources_count": 3},
}  # fmt: skip


def renders(cache: CardCache) -> list[int]:
    """Count the Jinja renders the cache makes (a kept card costs none)."""
    calls: list[int] = []
    render = cache._render

    def counting(card: dict, *args: object) -> str:
        calls.append(card["id"])
        return render(card, *args)  # type: ignore[arg-type]

    cache._render = counting  # type: ignore[method-assign]
    return calls


def test_cached_card_matches_the_macro_and_follows_changes() -> None:
    e = env()
    cache = CardCache(e, size=2)
    calls = renders(cache)
    fresh = e.from_string('{% from "_card.html" import card with context %}{{ card(c) }}').render(
        c=CARD, editor=None, saved=set()
    )
    first = cache(CARD)
    assert str(first) == fresh and "&lt;Nova&gt;" in first  # escaped like the macro
    assert cache(copy.deepcopy(CARD)) == first and calls == [7]  # equal data: the kept HTML
    older = copy.deepcopy(CARD) | {"age": "6h ago"}
    assert "6h ago" in cache(older) and calls == [7, 7]
    rejudged = copy.deepcopy(CARD) | {"importance": 91}
    assert ">91<" in cache(rejudged)
    assert len(cache._kept) == 2  # bounded: the oldest entry went


def test_a_versioned_card_is_kept_by_its_version_and_age() -> None:
    cache = CardCache(env())
    calls = renders(cache)
    card = CARD | {"version": (1, "a")}
    first = cache(card)
    assert cache(card | {"version": (1, "a")}) == first and calls == [7]
    # a new version is a new card even when the dict looks the same to the cache
    assert ">91<" in cache(card | {"version": (2, "a"), "importance": 91}) and calls == [7, 7]
    assert "6h ago" in cache(card | {"age": "6h ago"}) and calls == [7, 7, 7]


def test_an_editors_card_has_their_token_and_marks_and_is_kept_too() -> None:
    e = env()
    cache = CardCache(e)
    calls = renders(cache)
    card = CARD | {"version": (1,)}
    anon = cache(card)
    assert "sign in to save" in anon and "csrf" not in anon
    mine = cache(card, EditorSession(csrf="tok-123", role="editor"), {7}, {7: "up"})
    assert 'value="tok-123"' in mine and "★ saved" in mine
    assert 'value="up" aria-pressed="true"' in mine and 'value="down" aria-pressed="false"' in mine
    # the same marks for another session: the kept HTML with that session's token
    theirs = cache(card, EditorSession(csrf="tok-456", role="editor"), {7}, {7: "up"})
    assert 'value="tok-456"' in theirs and "tok-123" not in theirs and len(calls) == 2
    # the marks are part of the key: unsaved and voted down is another variant
    other = cache(card, EditorSession(csrf="tok-123", role="editor"), set(), {7: "down"})
    assert "☆ save" in other and 'value="down" aria-pressed="true"' in other
    fresh = e.from_string('{% from "_card.html" import card with context %}{{ card(c) }}').render(
        c=card,
        editor=EditorSession(csrf="tok-123", role="editor"),
        saved={7},
        votes={7: "up"},
        follow_topics=[(kind, target, False) for kind, target in follow_pairs(card)],
    )
    assert str(mine) == fresh  # the same HTML as the macro rendered for that editor
    assert "+ follow tag #Reasoning" in mine and "+ follow source Lab" in mine
    # what the person follows is part of the key too
    following = cache(card, EditorSession(csrf="tok-123", role="editor"), {7}, {7: "up"},
                      following=frozenset({("tag", "Reasoning")}))  # fmt: skip
    assert "✓ following tag #Reasoning" in following and "+ follow source Lab" in following


def test_feed_list_uses_the_cache_for_every_reader() -> None:
    e = env()
    calls = []
    cache = CardCache(e)

    def counting(card: dict, *args: object) -> object:
        calls.append(card["id"])
        return cache(card, *args)  # type: ignore[arg-type]

    e.globals["cached_card"] = counting
    tpl = e.get_template("_feed_list.html")
    days = [("Today", [CARD])]
    anon = tpl.render(days=days, editor=None, saved=set())
    assert calls == [7] and "Lab ships" in anon and "sign in to save" in anon
    editor = EditorSession(csrf="tok-123", role="editor")
    signed_in = tpl.render(days=days, editor=editor, saved={7}, votes={})
    assert calls == [7, 7]
    assert "tok-123" in signed_in and "★ saved" in signed_in
