"""Conformance (point 8a): every real feed in ../shared/corpus goes through our collect +
normalize path without an exception and yields as many entries as plain feedparser, each
with a title or a link. feedparser's own fixtures and the HTML fragments are left out.

One deliberate difference: an entry that carries nothing at all (no title, link, id, summary
or content; the corpus has one, a bare date in miniflux's ISO-8859-1 sample) is not a story
and is dropped; the test counts those and checks they are the only difference."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from newsdesk.domain import Source
from newsdesk.normalize import FreshnessRules, normalize_entries
from newsdesk.sources.kinds import parse_source
from newsdesk.sources.rss import NotAFeed

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}


def corpus_feeds() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file()
        and p.suffix.lower() in FEED_SUFFIXES
        and "kurtmckee+feedparser" not in p.parts  # synthetic conformance fixtures
        and "FirstEntry" not in p.name  # HTML fragments, not feeds
    )


FEEDS = corpus_feeds()


@pytest.mark.corpus
@pytest.mark.skipif(not FEEDS, reason="../shared/corpus is absent (a fresh clone has no corpus)")
@pytest.mark.parametrize("path", FEEDS, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_real_feed_matches_plain_feedparser(path: Path) -> None:
    body = path.read_bytes()
    plain = feedparser.parse(body).entries
    empty = [e for e in plain if not any(e.get(k) for k in ("title", "link", "id", "summary",
                                                             "content"))]  # fmt: skip
    expected = len(plain) - len(empty)
    source = Source(id="corpus", name="corpus", url="https://corpus.example.com/feed")
    try:
        parsed = await parse_source(source, body, source.url)
    except NotAFeed:
        assert expected == 0, "we refused a feed plain feedparser reads"
        return
    items = await normalize_entries(
        parsed.entries, source, datetime.now(UTC), FreshnessRules(), first_import=False
    )
    assert len(items) == expected
    assert all(item.title or item.url for item in items)
    assert len(empty) <= 1


def test_corpus_is_there_or_skipped_for_a_reason() -> None:
    if not FEEDS:
        pytest.skip("../shared/corpus is absent (a fresh clone has no corpus)")
    assert len(FEEDS) >= 200
