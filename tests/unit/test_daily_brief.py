"""The daily brief's rules, without a database."""

from __future__ import annotations

from datetime import date

from newsdesk.reports.brief import Candidate, Earlier, compose_daily
from newsdesk.reports.periodic import compile_period, month_of, week_of
from newsdesk.reports.render import render_markdown

DAY = date(2025, 1, 31)


def story(item_id: int, event_id: int | None, source: str, importance: int, **kw) -> Candidate:
    fields = {
        "title": f"Story {item_id}", "summary": "", "url": f"https://x.example/{item_id}",
        "source_name": source.title(), "tier": "featured", "coverage": 1, "first_party": False,
    } | kw  # fmt: skip
    return Candidate(item_id, event_id, source_id=source, importance=importance, **fields)


def test_one_entry_per_event_best_member_wins() -> None:
    brief = compose_daily(
        DAY,
        [story(1, 7, "wire", 80), story(2, 7, "lab", 80, first_party=True), story(3, 8, "x", 60)],
        Earlier(),
    )
    assert [c.item_id for c in brief.entries] == [2, 3]  # first-hand beats the wire on a tie


def test_ranking_per_source_cap_and_sizes() -> None:
    many = [story(i, i, f"s{i % 15}", 50 + i) for i in range(1, 31)]
    many.append(story(100, 100, "busy", 99))
    many += [story(101 + k, 101 + k, "busy", 98 - k) for k in range(3)]
    brief = compose_daily(DAY, many, Earlier())
    assert len(brief.entries) == 12 and len(brief.flashes) == 10
    chosen = brief.entries + brief.flashes
    assert sum(c.source_id == "busy" for c in chosen) == 2  # at most 2 per source
    ranks = [c.rank for c in chosen]
    assert ranks == sorted(ranks, reverse=True)
    covered = story(200, 200, "solo", 70, coverage=4)
    assert covered.rank > story(201, 201, "solo", 75).rank  # coverage counts


def test_event_from_last_week_returns_only_with_a_development() -> None:
    earlier = Earlier(event_ids=frozenset({7, 8}), item_ids=frozenset({1, 3}))
    brief = compose_daily(
        DAY,
        [
            story(1, 7, "lab", 90),  # the same story again: stays out
            story(3, 8, "lab", 90),
            story(4, 8, "wire", 85),  # a new featured story of event 8: a development
            story(5, 9, "other", 60, tier="all"),
        ],
        earlier,
    )
    assert [c.item_id for c in brief.entries] == [4, 5] and brief.returning == [8]


def test_weekly_compiles_dailies_without_faking_an_overview() -> None:
    d1 = compose_daily(date(2025, 1, 27), [story(1, 7, "lab", 80)], Earlier()).data()
    d2 = compose_daily(DAY, [story(2, 7, "wire", 90), story(3, 9, "lab", 70)], Earlier()).data()
    start, end = week_of(DAY)
    assert (start, end) == (date(2025, 1, 27), date(2025, 2, 2))
    assert month_of(DAY) == (date(2025, 1, 1), DAY)
    weekly = compile_period("weekly", start, end, [d2, d1])
    assert [e["item_id"] for e in weekly["entries"]] == [2, 3]  # event 7 once, its best day
    assert weekly["overview"] is None and weekly["days"] == ["2025-01-27", "2025-01-31"]
    md = render_markdown(weekly, "http://desk.test")
    assert md.startswith("# Weekly report: Week of 27 January 2025")
    assert "(<https://x.example/2>)" in md and "http://desk.test/items/2" in md


def test_markdown_escapes_source_text() -> None:
    evil = story(1, 1, "lab", 80, title="[click](http://evil) # heading", summary="<script>")
    md = render_markdown(compose_daily(DAY, [evil], Earlier()).data(), "http://d")
    assert "[click](http://evil)" not in md and "\\[click\\]" in md and "\\<script\\>" in md
    empty = render_markdown(compose_daily(DAY, [], Earlier()).data(), "http://d")
    assert "No public stories were filed in this period." in empty
