from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsdesk.domain import Entry, Source, SourceTier
from newsdesk.normalize import FreshnessRules, canonical_url, identity_key, normalize_entries
from newsdesk.normalize.stage import normalize_batch, normalize_entry
from newsdesk.normalize.text import (
    clean_title,
    detect_language,
    html_to_text,
    sanitize_html,
    sanitized_to_text,
)
from newsdesk.sources.rss import NotAFeed, parse_feed

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
LAB = Source(id="lab", name="Example Lab", url="https://lab.example.com/feed", tier=SourceTier.T1)


def test_canonical_url_strips_tracking_and_noise() -> None:
    assert (
        canonical_url("https://Lab.Example.com:443/blog/nova-2/?utm_source=x&utm_medium=y#top")
        == "https://lab.example.com/blog/nova-2"
    )
    assert canonical_url("https://lab.example.com/p?id=3&utm_campaign=z") == (
        "https://lab.example.com/p?id=3"
    )
    assert canonical_url("javascript:alert(1)") == ""


def test_identity_falls_back_to_guid_then_hash() -> None:
    assert identity_key("s", "https://a.example/x?utm_source=1", "g", "t", "b") == (
        "url:https://a.example/x"
    )
    assert identity_key("s", "", "guid-1", "t", "b") == "guid:s:guid-1"
    hashed = identity_key("s", "", "", "title", "body")
    assert hashed.startswith("hash:s:") and hashed == identity_key("s", "", "", "title", "body")
    assert hashed != identity_key("s", "", "", "title", "other body")


def test_sanitizer_removes_scripts_handlers_and_bad_links() -> None:
    dirty = (
        '<p onclick="x()">Hi <a href="javascript:alert(1)">x</a><script>alert(2)</script>'
        '<img src="https://a.example/i.png" onerror="alert(3)"><svg><script>a()</script></svg></p>'
    )
    clean = sanitize_html(dirty)
    for bad in ("onclick", "javascript:", "<script", "onerror", "<svg", "alert(2)"):
        assert bad not in clean
    assert '<img src="https://a.example/i.png"' in clean


def test_html_to_text_keeps_paragraphs() -> None:
    assert html_to_text("<p>One &amp; two.</p><p>Three</p>") == "One & two.\n\nThree"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("OpenAI released a new reasoning model with a system card describing its risks.", "en"),
        ("深度求索发布 DeepSeek-R1 推理模型，并以 MIT 许可证开源全部权重。", "zh"),
    ],
)
def test_language_detection(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_parse_rss_and_atom_fixtures() -> None:
    rss = parse_feed("lab", (FIXTURES / "lab.xml").read_bytes(), "https://lab.example.com/feed")
    assert [e.title for e in rss][:2] == [
        "Example Lab releases Nova-2 with a 256K context window",
        "Join our webinar on AI for retail",
    ]
    assert rss[0].published == datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    assert rss[2].link == "https://lab.example.com/blog/relative"  # resolved against the feed
    atom = parse_feed("wire", (FIXTURES / "media.atom").read_bytes())
    assert len(atom) == 2 and atom[0].published == datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(NotAFeed) as info:
        parse_feed("x", b"<html><body><h1>Welcome</h1></body></html>")
    assert info.value.code == "not_a_feed"


async def test_normalize_sanitises_and_marks_freshness() -> None:
    entries = parse_feed("lab", (FIXTURES / "lab.xml").read_bytes(), "https://lab.example.com/")
    items = await normalize_entries(entries, LAB, NOW, FreshnessRules())
    nova, _webinar, relative = items
    assert nova.identity_key == "url:https://lab.example.com/blog/nova-2"
    assert "71.2%" in nova.body_text and nova.language == "en"
    assert nova.backfill is False  # seen 26.5 h after publication
    assert "<script" not in relative.body_html and "javascript:" not in relative.body_html
    assert "alert(2)" not in relative.body_text


async def test_late_future_and_undated_entries_are_backfill() -> None:
    old = Entry("lab", "Old", "https://lab.example.com/old", published=NOW - timedelta(days=3))
    future = Entry("lab", "Future", "https://lab.example.com/f", published=NOW + timedelta(days=2))
    undated = Entry("lab", "Undated", "https://lab.example.com/u")
    fresh = Entry("lab", "Fresh", "https://lab.example.com/n", published=NOW - timedelta(hours=2))
    items = await normalize_entries([old, future, undated, fresh], LAB, NOW, FreshnessRules())
    by_title = {i.title: i for i in items}
    assert by_title["Old"].backfill and by_title["Old"].filed_at == NOW - timedelta(days=3)
    assert by_title["Future"].backfill and by_title["Future"].published_at is None
    assert by_title["Undated"].backfill and by_title["Undated"].filed_at == NOW
    assert not by_title["Fresh"].backfill


async def test_first_import_keeps_newest_30_within_window_as_backfill() -> None:
    entries = [
        Entry("lab", f"Post {n}", f"https://lab.example.com/{n}", published=NOW - timedelta(days=n))
        for n in range(1, 50)
    ] + [Entry("lab", "Ancient", "https://lab.example.com/a", published=NOW - timedelta(days=900))]
    items = await normalize_entries(entries, LAB, NOW, FreshnessRules(), first_import=True)
    assert len(items) == 30
    assert all(i.backfill for i in items)
    assert {i.title for i in items} == {f"Post {n}" for n in range(1, 31)}


@pytest.mark.parametrize("window_days", [365, None])
def test_first_import_picks_the_same_items_as_normalising_everything_first(window_days) -> None:
    """The newest few are chosen before normalising; the result is what choosing among the
    normalised items gives: same items, same order, same dates."""
    rules = FreshnessRules(first_import_max_items=7, first_import_window_days=window_days)
    # days before NOW; negative: in the future (untrusted); None: undated
    offsets = [3, -30, None, 400, 1, 1, 26, None, -90, 2, 800, 5, 0, 48, 10, 9]
    entries = [
        Entry("lab", f"Post {n}", f"https://lab.example.com/{n}",
              published=None if days is None else NOW - timedelta(days=days))
        for n, days in enumerate(offsets)
    ]  # fmt: skip
    every = [normalize_entry(e, LAB, NOW, rules) for e in entries]
    if window_days is not None:
        oldest = NOW - timedelta(days=window_days)
        every = [i for i in every if i.published_at is not None and i.published_at >= oldest]
    every.sort(key=lambda i: i.filed_at, reverse=True)
    expected = [(i.title, i.published_at, i.filed_at) for i in every[:7]]
    chosen = normalize_batch(entries, LAB, NOW, rules, first_import=True)
    assert [(i.title, i.published_at, i.filed_at) for i in chosen] == expected
    assert all(i.backfill for i in chosen)


@pytest.mark.parametrize(
    "raw",
    [
        '<p title="a > b">One &amp; two&nbsp;three</p><p>Four<br>five</p>',
        "<pre>\n<br>&lt;errors&gt;\n  &lt;key/&gt;</pre><p>after</p>",
        '<ul><li>a</li><li><a href="https://x.example/?q=1&amp;r=2">link</a></li></ul>',
        "<p>\u00a0spaced\u2003out\r\n text</p><script>gone()</script><table><tr><td>c</td></tr>",
        "plain text, no markup at all",
    ],
)
def test_fast_text_of_sanitised_html_matches_a_second_parse(raw: str) -> None:
    clean = sanitize_html(raw)
    assert sanitized_to_text(clean) == html_to_text(clean)


def test_titles_without_markup_skip_nh3_with_the_same_result() -> None:
    assert clean_title("  GPT-5 \u00a0is  out > all ") == "GPT-5 is out > all"
    assert clean_title("<b>Bold</b> &amp; plain") == "Bold & plain"


def test_long_urls_and_guids_make_bounded_keys_that_still_tell_stories_apart() -> None:
    a = "https://lab.example.com/" + "x" * 5000 + "/a"
    b = "https://lab.example.com/" + "x" * 5000 + "/b"
    keys = {identity_key("lab", url, "", "t", "") for url in (a, b)}
    assert len(keys) == 2 and all(len(k) <= 600 for k in keys)
    assert identity_key("lab", a, "", "t", "") == identity_key("lab", a, "", "other", "")
    guid_key = identity_key("lab", "", "g" * 5000, "t", "")
    assert guid_key.startswith("guid:lab:ggg") and len(guid_key) <= 600
    short = "https://lab.example.com/short"
    assert identity_key("lab", short, "", "t", "") == "url:" + short  # short keys unchanged


def test_nul_characters_never_reach_the_store() -> None:
    entry = Entry("lab", "N\x00UL", "https://lab.example.com/4\x00x", guid="g\x004",
                  authors=("A\x00da",),
                  signals={"categories": ["t\x00ag"], "points": 3})  # fmt: skip
    item = normalize_entry(entry, LAB, NOW, FreshnessRules())
    stored = f"{item.title}{item.url}{item.guid}{item.authors!r}{item.signals!r}{item.identity_key}"
    assert "\x00" not in stored and "\\x00" not in stored
    assert item.signals == {"categories": ["tag"], "points": 3} and item.authors == ("Ada",)
