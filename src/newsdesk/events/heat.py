"""Heat: how much the field is talking about an event right now.

Within the heat window each independent source counts once, weighted by how fresh its latest
report is: `0.5 ** (time since that report / half-life)`. The window is 48 hours on a busy desk
and reaches further on a sparse one (`domain.HeatScale`: as far as the desk's last 12 stories,
at most 14 days), the half-life is half the window. A source repeating itself adds nothing, a
community source (T3) adds heat like any other, and backfill (old news found late) adds none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from newsdesk.domain import HeatScale


@dataclass(frozen=True, slots=True)
class Report:
    """One sighting of an event: a member story or a discovery of one through another source."""

    source_id: str
    at: datetime
    backfill: bool = False


def event_heat(
    reports: Iterable[Report],
    now: datetime,
    backfill_counts: bool = False,
    scale: HeatScale | None = None,
) -> tuple[float, int]:
    """Heat and the number of sources that count towards it. `backfill_counts` is for the demo
    snapshot, which arrives whole as one first import (all backfill) and is read on its own
    clock as the news of its day. `scale`: the desk's (48 h when not given)."""
    scale = scale or HeatScale()
    half_life = scale.half_life.total_seconds()
    latest: dict[str, datetime] = {}
    for r in reports:
        if (r.backfill and not backfill_counts) or r.at > now or now - r.at > scale.window:
            continue
        if r.source_id not in latest or r.at > latest[r.source_id]:
            latest[r.source_id] = r.at
    heat = sum(0.5 ** ((now - at).total_seconds() / half_life) for at in latest.values())
    return round(heat, 4), len(latest)
