"""OPML round trip through the database (point 8c): import, export, import again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.domain import Source, SourceTier
from newsdesk.sources.opml import parse_opml, to_opml
from newsdesk.store import repo
from newsdesk.store import sources as source_store

ROOT = Path(__file__).resolve().parents[2]
SUBS = ROOT / ".." / "shared" / "corpus" / "Ranchero-Software+NetNewsWire" / "Subs.opml"
OURS = ROOT / "tests" / "fixtures" / "subscriptions.opml"


def import_opml(db, data: bytes) -> tuple[int, int]:
    """What `newsdesk sources import FILE.opml` does."""
    sources = parse_opml(data)
    now = datetime.now(UTC)
    return db.write_sync(lambda c: source_store.import_opml(c, sources, now))


def followed(db) -> list[tuple[str, str, tuple[str, ...]]]:
    with db.read() as conn:
        stored = [repo.source_from_row(r) for r in repo.list_source_rows(conn)]
    return sorted((s.url, s.name, s.tags) for s in stored)


def round_trip(db, data: bytes) -> None:
    """Every feed of the file lands once with its name and folders; the export names the same
    feeds; importing the export again adds nothing and changes no feed's name or URL."""
    sources = parse_opml(data)
    assert import_opml(db, data) == (len(sources), 0)
    before = followed(db)
    assert sorted((s.url, s.name, s.tags) for s in sources) == before
    with db.read() as conn:
        exported = to_opml([repo.source_from_row(r) for r in repo.list_source_rows(conn)])
    assert sorted(s.url for s in parse_opml(exported.encode())) == [b[0] for b in before]
    assert import_opml(db, exported.encode()) == (0, len(sources))
    assert [(url, name) for url, name, _ in followed(db)] == [(u, n) for u, n, _ in before]


def test_round_trip_of_our_subscriptions(db) -> None:
    round_trip(db, OURS.read_bytes())
    assert len(followed(db)) == 11  # twelve outlines; two are one feed with and without "/"
    assert ("http://old.example.com//feed", "Old Lab", ("Labs", "Archive")) in followed(db)


def test_a_second_list_with_the_same_names_adds_and_never_overwrites(db) -> None:
    import_opml(db, OURS.read_bytes())
    other = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline type="rss" text="Wire" xmlUrl="https://another-wire.example/feed"/>
      <outline type="rss" text="Lab One" xmlUrl="https://lab.example.com/feed.xml"/>
    </body></opml>"""
    assert import_opml(db, other) == (1, 1)
    urls = [url for url, _, _ in followed(db)]
    assert "https://another-wire.example/feed" in urls
    assert "https://wire.example.net/rss?section=ai&lang=en" in urls
    assert len(urls) == 12


def test_an_opml_import_leaves_a_followed_feeds_settings_alone(db) -> None:
    """OPML knows nothing of kinds, tiers or options: a feed we already follow keeps ours."""
    curated = Source(id="lab-news", name="Lab News", url="https://lab.example.com/feed.xml",
                     kind="web_list", tier=SourceTier.T1, group="vendor-official",
                     name_zh="实验室新闻", options={"item": "article"})  # fmt: skip
    db.write_sync(lambda c: source_store.import_sources(c, [curated], datetime.now(UTC)))
    listed = b"""<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="Labs">
      <outline type="rss" text="Some other name" xmlUrl="HTTPS://LAB.example.com/feed.xml/"/>
    </outline></body></opml>"""
    assert import_opml(db, listed) == (0, 1)
    with db.read() as conn:
        (kept,) = [repo.source_from_row(r) for r in repo.list_source_rows(conn)]
    assert kept == curated and kept.options == {"item": "article"}


@pytest.mark.corpus
@pytest.mark.skipif(
    not SUBS.is_file(),
    reason="../shared/corpus/Ranchero-Software+NetNewsWire/Subs.opml is absent",
)
def test_round_trip_of_netnewswire_subscriptions(db) -> None:
    round_trip(db, SUBS.read_bytes())
    assert len(followed(db)) >= 200
