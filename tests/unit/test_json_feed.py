"""JSON Feed through the `rss` kind (point 3): feedparser 6.0 reads none, our reader does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from newsdesk.domain import Source
from newsdesk.normalize import FreshnessRules
from newsdesk.runner.cpu import parse_and_normalize
from newsdesk.sources.jsonfeed import looks_like_json
from newsdesk.sources.kinds import parse_bytes
from newsdesk.sources.rss import NotAFeed

CORPUS_JSON = (
    Path(__file__).resolve().parents[3] / "shared" / "corpus" / "kurtmckee+feedparser" / "json"
)
SOURCE = Source(id="lab", name="Lab", url="https://lab.example.com/feed.json")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Lab notes",
    "home_page_url": "https://lab.example.com/",
    "authors": [{"name": "Lab team"}],
    "items": [
        {
            "id": "https://lab.example.com/p/2",
            "url": "/p/2",
            "title": "Model two ships",
            "content_html": '<p>Weights <a href="/w">here</a>.<script>steal()</script>'
            '<img src="x" onerror="steal()"></p>',
            "date_published": "2026-11-27T09:30:00Z",
            "authors": [{"name": "Ada"}, {"url": "https://nameless.example"}],
            "tags": ["release", "weights", "release"],
        },
        {
            "id": "1",
            "external_url": "https://press.example.org/story",
            "content_text": "Untitled note.\n\nSecond paragraph <b>as text</b>.",
            "date_modified": "2026-11-26T08:00:00+02:00",
        },
        {"id": "3", "title": 42, "date_published": "yesterday", "summary": "no url, no title"},
        "not an item",
        {},
    ],
}


def parse(body: bytes):
    return parse_bytes(SOURCE, body, SOURCE.url).entries


def test_a_json_feed_is_read_as_entries() -> None:
    body = json.dumps(FEED).encode()
    assert feedparser.parse(body).entries == []  # why we read it ourselves
    two, one, three = parse(body)
    assert (two.title, two.link, two.guid) == (
        "Model two ships",
        "https://lab.example.com/p/2",  # relative to home_page_url
        "https://lab.example.com/p/2",
    )
    assert two.published == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert two.authors == ("Ada",) and two.signals == {"categories": ["release", "weights"]}
    assert 'href="https://lab.example.com/w"' in two.content_html
    assert one.link == "https://press.example.org/story" and one.authors == ("Lab team",)
    assert one.published == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert "<p>Second paragraph &lt;b&gt;as text&lt;/b&gt;.</p>" in one.content_html
    # a number is no title, "yesterday" no date
    assert three.title == "" and three.published is None


def test_json_feed_items_are_sanitised_and_normalised_like_any_feed() -> None:
    body = b"\xef\xbb\xbf\n " + json.dumps(FEED).encode()  # a BOM and white space first
    digest = parse_and_normalize(SOURCE, body, SOURCE.url, NOW, FreshnessRules(), False)
    assert digest.error_code is None and len(digest.items) == 3
    first = digest.items[0]
    assert "<script" not in first.body_html and "onerror" not in first.body_html
    assert "steal" not in first.body_text and first.language == "en"
    assert digest.items[1].title.startswith("Untitled note.")  # titled from its text


def test_a_json_feed_with_rfc_822_dates_keeps_them() -> None:
    feed = {"version": "https://jsonfeed.org/version/1", "items": [
        {"id": "a", "url": "https://lab.example.com/a", "title": "A",
         "date_published": "Fri, 27 Nov 2026 10:00:00 GMT"}]}  # fmt: skip
    (entry,) = parse(json.dumps(feed).encode())
    assert entry.published == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "parse_error"),
        (b'{"a":' + b"[" * 100_000, "parse_error"),  # nested too deep for the decoder
        (b'{"hello": "world"}', "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": {"id": 1}}', "not_a_feed"),
    ],
)
def test_broken_json_is_an_error_code(body: bytes, code: str) -> None:
    assert looks_like_json(body)
    with pytest.raises(NotAFeed) as caught:
        parse(body)
    assert caught.value.code == code


def test_one_unreadable_item_costs_that_item_only() -> None:
    feed = {"version": "https://jsonfeed.org/version/1.1", "home_page_url": "http://[x/",
            "items": [
                {"id": 1, "url": "http://[x/", "title": "unreadable URL"},
                {"id": 2, "url": "https://lab.example.com/2", "title": "odd dates",
                 "date_published": "\u00b2", "date_modified": "9" * 5000,
                 "content_html": '<a href="http://[y/">odd link</a>'},
            ]}  # fmt: skip
    for encoding in ("utf-8", "utf-16", "utf-32"):
        (entry,) = parse(json.dumps(feed).encode(encoding))
        assert (entry.guid, entry.published) == ("2", None)  # a numeric id is its string


def test_xml_is_never_taken_for_json() -> None:
    assert not looks_like_json(b'<?xml version="1.0"?><rss version="2.0"/>')
    assert not looks_like_json(b"")


@pytest.mark.corpus
@pytest.mark.skipif(not (CORPUS_JSON / "example.json").is_file(), reason="corpus absent")
def test_feedparsers_json_fixture() -> None:
    entries = parse((CORPUS_JSON / "example.json").read_bytes())
    assert [e.link for e in entries] == [
        "https://example.org/second-item",
        "https://example.org/initial-post",
    ]
    assert entries[0].signals["categories"] == ["test", "JSON"]
