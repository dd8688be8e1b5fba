"""Each picture's numbers are the data it draws: read back from the SVG's accessible name and
compared with figures the test counts from the database itself; empty states are drawn."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from newsdesk.config import DEMO_AS_OF
from newsdesk.store import schema as t

SPARK = re.compile(r'<svg class="pic spark"[^>]*aria-label="([^"]*)"[^>]*><title>([^<]*)</title>')
LABEL = re.compile(
    r"Coverage: independent sources per (\d+) hours from (\d{4}-\d\d-\d\d \d\d:\d\d) UTC: "
    r"([\d, ]+)\.(?: A development joined in the \d+ hours from (.*)\.)?$"
)


def spark_labels(page: str) -> list[str]:
    found = []
    for label, title in SPARK.findall(page):
        assert html.unescape(label) == html.unescape(title)  # the same words for all readers
        found.append(html.unescape(label))
    return found


def coverage_by_hand(
    desk, event_id: int, now: datetime
) -> tuple[datetime, list[int], set[datetime]]:
    """Independent sources per six hours and the six hours where a development joined,
    counted here from the event's members and discoveries."""
    m, i, d = t.event_members.c, t.items.c, t.discoveries.c
    with desk.read() as conn:
        rows = (
            conn.execute(
                select(i.source_id, i.filed_at, m.relation)
                .join(t.items, i.id == m.item_id)
                .where(m.event_id == event_id)
            ).all()
            + conn.execute(
                select(d.source_id, d.seen_at, m.relation)
                .join(t.event_members, m.item_id == d.item_id)
                .where(m.event_id == event_id)
            ).all()
        )
    rows = [(s, at.replace(tzinfo=at.tzinfo or UTC), rel) for s, at, rel in rows if at <= now]
    first = min(at for _, at, _ in rows)
    start = first.replace(minute=0, second=0, microsecond=0, hour=first.hour // 6 * 6)
    slots: dict[int, set[str]] = defaultdict(set)
    developments = set()
    for source, at, relation in rows:
        slot = int((at - start) / timedelta(hours=6))
        slots[slot].add(source)
        if relation == "same_story":  # grouping's word for a development
            developments.add(start + timedelta(hours=6 * slot))
    return start, [len(slots[k]) for k in range(max(slots) + 1)], developments


def test_event_sparklines_draw_the_events_coverage(client_for, desk) -> None:
    demo = client_for(demo=True)
    page = demo.get("/events").text
    ids = [int(x) for x in re.findall(r'<li class="event" data-event="(\d+)">', page)]
    labels = spark_labels(page)
    assert len(labels) == len(ids) > 10  # every event on the list has its sparkline
    checked_developments = 0
    for event_id, label in zip(ids, labels, strict=True):
        match = LABEL.match(label)
        assert match, label
        hours, start, figures, developed = match.groups()
        if hours != "6":
            continue  # a life longer than fourteen days: wider bars (unit-tested)
        first, counts, developments = coverage_by_hand(desk, event_id, DEMO_AS_OF)
        assert start == f"{first:%Y-%m-%d %H:%M}"
        assert [int(x) for x in figures.split(", ")] == counts, event_id
        at = {datetime.fromisoformat(x.removesuffix(" UTC")).replace(tzinfo=UTC)
              for x in (developed or "").split(", ") if x}  # fmt: skip
        assert at == developments, event_id
        checked_developments += bool(at)
        # the event's own page draws the same sparkline
        assert spark_labels(demo.get(f"/events/{event_id}").text) == [label]
    assert checked_developments >= 1  # gpt-oss: a podcast episode a week later
