"""The demo's clock stands an hour after the newest story of the bundled snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsdesk.config import DEMO_AS_OF, desk_now
from newsdesk.sources.catalog import DEMO_CATALOG, DEMO_FEEDS, load_catalog
from newsdesk.sources.kinds import parse_bytes


def test_demo_clock_is_an_hour_after_the_snapshots_newest_story() -> None:
    newest = datetime.min.replace(tzinfo=UTC)
    for source in load_catalog(DEMO_CATALOG, demo_base="http://demo.test"):
        body = (DEMO_FEEDS / source.url.rsplit("/", 1)[1]).read_bytes()
        for entry in parse_bytes(source, body, source.url).entries:
            if entry.published is not None:
                newest = max(newest, entry.published)
    assert newest + timedelta(hours=1) == DEMO_AS_OF
    assert desk_now(demo=True) == DEMO_AS_OF
    assert abs(desk_now() - datetime.now(UTC)) < timedelta(seconds=5)  # the real clock rules
