"""Source kinds, presets and feed discovery, on bytes we write here (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from newsdesk.domain import Entry, Source
from newsdesk.sources.dates import parse_date
from newsdesk.sources.discover import feed_links, looks_like_html
from newsdesk.sources.json_api import dig, expand_url, parse_json_api
from newsdesk.sources.kinds import parse_bytes, parse_source
from newsdesk.sources.presets import PresetError, expand_preset, refine
from newsdesk.sources.rss import NotAFeed, absolutize, parse_feed_with_ttl
from newsdesk.sources.web_list import fill_from_page, parse_web_list

LIST_PAGE = b"""<!doctype html><html><body>
<main>
 <article class="post"><h2><a href="/news/one">First launch</a></h2>
   <time datetime="2025-01-31T11:00:00Z">Jan 31</time><p class="dek">It ships today.</p></article>
 <article class="post"><h2><a href="https://lab.example.com/news/two">Second</a></h2>
   <span class="date">January 30, 2025</span></article>
 <article class="post"><h2><a href="javascript:alert(1)">Bad link</a></h2></article>
 <article class="post"><h2><a href="/news/one">First launch (again)</a></h2></article>
</main></body></html>"""


def web_source(**options: object) -> Source:
    return Source(id="lab", name="Lab", url="https://lab.example.com/news", kind="web_list",
                  options={"item": "article.post", "title": "h2", **options})  # fmt: skip


def test_web_list_reads_items_with_selectors() -> None:
    source = web_source(date="time", summary="p.dek")
    entries = parse_web_list(source, LIST_PAGE, "https://lab.example.com/news")
    assert [e.link for e in entries] == [
        "https://lab.example.com/news/one",  # relative link resolved
        "https://lab.example.com/news/two",
    ]  # javascript: dropped, duplicate link dropped
    assert entries[0].title == "First launch"
    assert entries[0].published == datetime(2025, 1, 31, 11, tzinfo=UTC)
    assert "It ships today." in entries[0].summary_html
    assert entries[1].published is None  # no <time> in the second item


def test_web_list_date_from_text() -> None:
    entries = parse_web_list(web_source(date=".date, time"), LIST_PAGE, "https://lab.example.com/")
    assert entries[1].published == datetime(2025, 1, 30, tzinfo=UTC)


def test_web_list_without_matches_is_an_error() -> None:
    with pytest.raises(NotAFeed) as caught:
        parse_web_list(web_source(item="div.nothing"), LIST_PAGE, "https://lab.example.com/")
    assert caught.value.code == "no_items"


async def test_web_list_detail_pages_fill_missing_fields() -> None:
    page = b"""<html><head><meta property="og:description" content="Full story in brief.">
    <meta property="article:published_time" content="2025-01-30T08:00:00+00:00"></head></html>"""
    asked: list[str] = []

    async def fetch(url: str) -> bytes | None:
        asked.append(url)
        return page

    source = web_source(date="time", summary="p.dek", detail=True)
    parsed = await parse_source(source, LIST_PAGE, "https://lab.example.com/news", fetch)
    assert asked == ["https://lab.example.com/news/two"]  # the complete item is not fetched
    second = parsed.entries[1]
    assert second.published == datetime(2025, 1, 30, 8, tzinfo=UTC)
    assert "Full story in brief." in second.summary_html


def test_fill_from_page_keeps_what_the_list_had() -> None:
    entry = Entry(source_id="s", title="Kept", link="https://x.example/a")
    page = b'<html><head><meta property="og:title" content="Other"></head><h1>H</h1></html>'
    assert fill_from_page(entry, page).title == "Kept"


HN_JSON = {
    "hits": [
        {"title": "Show HN: a thing", "url": "https://thing.example.com/", "objectID": "101",
         "created_at_i": 1738321200, "points": 321, "num_comments": 87, "author": "pg"},
        {"title": "Ask HN: no url", "url": None, "objectID": "102", "created_at_i": 1738321300,
         "points": 5, "num_comments": 0, "author": "dang"},
        "not an object",
    ]
}  # fmt: skip


def test_hackernews_preset_keeps_points_and_comments() -> None:
    raw = expand_preset({"id": "hn", "name": "HN", "preset": "hackernews"})
    assert raw["kind"] == "json_api" and raw["tier"] == "T3"
    source = Source(id="hn", name="HN", url=raw["url"], kind="json_api", options=raw["options"])
    entries = parse_json_api(source, json.dumps(HN_JSON).encode())
    assert len(entries) == 2
    assert entries[0].signals == {"points": 321, "comments": 87, "hn_id": "101"}
    assert entries[0].authors == ("pg",)
    assert entries[0].published == datetime(2025, 1, 31, 11, tzinfo=UTC)
    assert entries[1].link == "https://news.ycombinator.com/item?id=102"  # link template


def test_json_api_dot_paths_and_errors() -> None:
    assert dig({"a": {"b": [{"c": 1}]}}, "a.b.0.c") == 1
    assert dig({"a": []}, "a.3") is None
    source = Source(id="j", name="J", url="https://j.example/", kind="json_api",
                    options={"items": "data.list"})  # fmt: skip
    with pytest.raises(NotAFeed) as not_json:
        parse_json_api(source, b"<html>")
    assert not_json.value.code == "parse_error"
    with pytest.raises(NotAFeed) as no_list:
        parse_json_api(source, b'{"data": {}}')
    assert no_list.value.code == "not_a_feed"


def test_json_api_url_template() -> None:
    now = datetime(2025, 2, 8, tzinfo=UTC)
    url = expand_url("https://api.example.com/q?since={since}&day={today}", now)
    assert url == "https://api.example.com/q?since=1738368000&day=2025-02-08"


def test_presets_expand_to_real_urls() -> None:
    arxiv = expand_preset({"preset": "arxiv", "category": "cs.CL"})
    assert arxiv["url"] == "https://rss.arxiv.org/rss/cs.CL" and arxiv["group"] == "research"
    gh = expand_preset({"preset": "github_releases", "repo": "ollama/ollama", "tier": "T2"})
    assert gh["url"] == "https://github.com/ollama/ollama/releases.atom"
    assert gh["tier"] == "T2"  # the entry's own fields win
    yt = expand_preset({"preset": "youtube", "channel_id": "UCX"})
    assert yt["url"] == "https://www.youtube.com/feeds/videos.xml?channel_id=UCX"
    hub = expand_preset({"preset": "rsshub", "route": "/anthropic/news"}, "http://hub.local/")
    assert hub["url"] == "http://hub.local/anthropic/news"
    with pytest.raises(PresetError):
        expand_preset({"preset": "github_releases", "repo": "not a repo"})
    with pytest.raises(PresetError):
        expand_preset({"preset": "myspace"})


def test_refine_github_titles_and_hnrss_signals() -> None:
    releases = [Entry(source_id="g", title="v0.5.0", link="https://github.com/o/r/releases/1")]
    assert refine(releases, {"preset": "github_releases", "repo": "o/r"})[0].title == "o/r v0.5.0"
    hnrss = [Entry(source_id="h", title="T", link="https://t.example/",
                   summary_html="<p>Points: 42</p><p># Comments: 7</p>")]  # fmt: skip
    assert refine(hnrss, {})[0].signals == {"points": 42, "comments": 7}


ARXIV_RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>cs.CL</title>
<ttl>60</ttl>
<item><title>Scaling Things</title><link>https://arxiv.org/abs/2501.00001</link>
<description>arXiv:2501.00001v1 Announce Type: new Abstract: We scale things.</description>
<category>cs.CL</category><category>cs.AI</category>
<dc:creator>Ada Lovelace, Alan Turing</dc:creator></item></channel></rss>"""


async def test_arxiv_keeps_authors_and_categories_and_ttl() -> None:
    source = Source(id="ax", name="arXiv", url="https://rss.arxiv.org/rss/cs.CL",
                    options={"preset": "arxiv"})  # fmt: skip
    parsed = await parse_source(source, ARXIV_RSS, source.url)
    entry = parsed.entries[0]
    assert parsed.ttl_minutes == 60
    assert entry.signals["categories"] == ["cs.CL", "cs.AI"]
    assert entry.authors == ("Ada Lovelace, Alan Turing",)
    assert entry.summary_html.startswith("Abstract: We scale things.")


def test_feed_discovery_from_a_site_page() -> None:
    page = b"""<!DOCTYPE html><html><head>
    <link rel="alternate" type="application/feed+json" href="/feed.json">
    <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    <link rel="stylesheet" href="/s.css"></head><body></body></html>"""
    assert looks_like_html(page)
    assert feed_links(page, "https://site.example.com/blog/") == [
        "https://site.example.com/rss.xml",
        "https://site.example.com/feed.json",
    ]
    assert not looks_like_html(ARXIV_RSS)


def test_relative_links_resolved_in_rss() -> None:
    feed = b"""<rss version="2.0"><channel><title>x</title><item><title>A</title>
    <link>/posts/a</link></item></channel></rss>"""
    entries, ttl = parse_feed_with_ttl("s", feed, "https://blog.example.com/feed.xml")
    assert entries[0].link == "https://blog.example.com/posts/a" and ttl is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-01-31T11:00:00Z", datetime(2025, 1, 31, 11, tzinfo=UTC)),
        ("Fri, 31 Jan 2025 11:00:00 GMT", datetime(2025, 1, 31, 11, tzinfo=UTC)),
        (1738321200, datetime(2025, 1, 31, 11, tzinfo=UTC)),
        (1738321200000, datetime(2025, 1, 31, 11, tzinfo=UTC)),
        ("Jan 31, 2025", datetime(2025, 1, 31, tzinfo=UTC)),
        ("yesterday-ish", None),
        (None, None),
        (True, None),
    ],
)
def test_dates(raw: object, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


def test_relative_urls_in_content_become_absolute() -> None:
    feed = b"""<rss version="2.0"><channel><title>x</title><item><title>A</title>
    <link>https://blog.example.com/posts/a/</link><description><![CDATA[
    <a href="../b/">prev</a> <img src='/img/x.png'> <a href="https://o.example/">abs</a>
    <a href="#top">top</a> <img src="//cdn.example.com/y.png">]]></description>
    </item></channel></rss>"""
    entry = parse_feed_with_ttl("s", feed, "https://blog.example.com/feed.xml")[0][0]
    assert 'href="https://blog.example.com/posts/b/"' in entry.summary_html
    assert "src='https://blog.example.com/img/x.png'" in entry.summary_html
    assert 'href="https://o.example/"' in entry.summary_html and 'href="#top"' in entry.summary_html
    assert 'src="https://cdn.example.com/y.png"' in entry.summary_html


def test_relative_links_resolve_only_in_href_and_src() -> None:
    base = "https://lab.example.com/blog/post"
    html = (
        '<a HREF="/a">a</a> <img src = \'//cdn.example.com/i.png\'> <img data-src="d.png">'
        '<a xhref="/no">x</a> <a href="#top">t</a> <a title="x=\'/keep\'" href="more">m</a>'
    )
    assert absolutize(html, base) == (
        '<a HREF="https://lab.example.com/a">a</a> '
        "<img src = 'https://cdn.example.com/i.png'> "
        '<img data-src="https://lab.example.com/blog/d.png">'  # a word boundary, as before
        '<a xhref="/no">x</a> <a href="#top">t</a> '
        '<a title="x=\'/keep\'" href="https://lab.example.com/blog/more">m</a>'
    )


def test_whatever_a_parser_raises_becomes_parse_error_on_that_source() -> None:
    api = Source(id="api", name="API", url="https://api.example.com/x", kind="json_api",
                 options={"items": "data", "title": "t", "link": "u"})  # fmt: skip
    nested = b'{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # valid, too deep to decode
    with pytest.raises(NotAFeed) as caught:
        parse_bytes(api, nested, api.url)
    assert caught.value.code == "parse_error" and "RecursionError" in str(caught.value)
