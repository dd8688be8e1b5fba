"""Heat: how much the field is talking about an event right now.

Over the last 48 hours each independent source counts once, weighted by how fresh its latest
report is: `0.5 ** (hours since that report / 24)`. A source repeating itself adds nothing, a
community source (T3) adds heat like any other, and backfill (old news found late) adds none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

HEAT_WINDOW = timedelta(hours=48)
HALF_LIFE_HOURS = 24.0


@dataclass(frozen=True, slots=True)
class Report:
    """One sighting of an event: a member story or a discovery of one through another source."""

    source_id: str
    at: datetime
    backfill: bool = False


def event_heat(
    reports: Iterable[Report], now: datetime, backfill_counts: bool = False
) -> tuple[float, int]:
    """Heat and the number of sources that count towards it. `backfill_counts` is for the demo
    snapshot, which arrives whole as one first import (all backfill) and is read on its own
    clock as the news of its day."""
    latest: dict[str, datetime] = {}
    for r in reports:
        if (r.backfill and not backfill_counts) or r.at > now or now - r.at > HEAT_WINDOW:
            continue
        if r.source_id not in latest or r.at > latest[r.source_id]:
            latest[r.source_id] = r.at
    heat = sum(
        0.5 ** ((now - at).total_seconds() / 3600 / HALF_LIFE_HOURS) for at in latest.values()
    )
    return round(heat, 4), len(latest)
