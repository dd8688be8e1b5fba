"""OPML round trip through the database (point 8c): import, export, import again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.sources.opml import parse_opml, to_opml
from newsdesk.store import repo
from newsdesk.store import sources as source_store

ROOT = Path(__file__).resolve().parents[2]
SUBS = ROOT / ".." / "shared" / "corpus" / "Ranchero-Software+NetNewsWire" / "Subs.opml"
OURS = ROOT / "tests" / "fixtures" / "subscriptions.opml"


def round_trip(db, data: bytes) -> tuple[list[str], list[str]]:
    sources = parse_opml(data)
    now = datetime.now(UTC)
    added, updated = db.write_sync(lambda c: source_store.import_sources(c, sources, now))
    assert (added, updated) == (len(sources), 0)
    with db.read() as conn:
        stored = [repo.source_from_row(r) for r in repo.list_source_rows(conn)]
    exported = parse_opml(to_opml(stored).encode())
    # importing the export again changes nothing
    again = db.write_sync(lambda c: source_store.import_sources(c, exported, now))
    assert again == (0, len(sources))
    return sorted(s.url for s in sources), sorted(s.url for s in exported)


def test_round_trip_of_our_subscriptions(db) -> None:
    before, after = round_trip(db, OURS.read_bytes())
    assert before == after and len(before) == 5


@pytest.mark.corpus
@pytest.mark.skipif(
    not SUBS.is_file(),
    reason="../shared/corpus/Ranchero-Software+NetNewsWire/Subs.opml is absent",
)
def test_round_trip_of_netnewswire_subscriptions(db) -> None:
    before, after = round_trip(db, SUBS.read_bytes())
    assert before == after and len(before) >= 200
