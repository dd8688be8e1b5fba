"""The daily brief, composed by rules: no model call, the same input gives the same brief.

Rules (issue 7, point 5): one entry per event; an event that was in a brief of the last 7 days
returns only with a new development (a story of that event no earlier brief carried, rated
featured or above); at most 2 entries per source; 12 full entries then up to 10 one-line
flashes, ranked by importance, coverage and first-party status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

FULL_ENTRIES = 12
FLASHES = 10
PER_SOURCE = 2
TIER_RANK = {"p1": 0, "featured": 1, "all": 2}


@dataclass(frozen=True)
class Candidate:
    """One public story filed on the brief's day, as the brief needs it."""

    item_id: int
    event_id: int | None
    title: str
    summary: str
    url: str
    source_id: str
    source_name: str
    tier: str
    importance: int
    coverage: int
    first_party: bool
    tags: tuple[str, ...] = ()
    topic: str = ""  # the first topic tag: weekly and monthly reports group by it

    @property
    def rank(self) -> float:
        # Importance leads; each extra independent source adds 2 (capped); first-hand adds 3.
        return self.importance + 2 * min(self.coverage - 1, 5) + (3 if self.first_party else 0)


@dataclass(frozen=True)
class Earlier:
    """What the briefs of the last 7 days already carried."""

    event_ids: frozenset[int] = frozenset()
    item_ids: frozenset[int] = frozenset()


@dataclass
class Brief:
    day: date
    entries: list[Candidate] = field(default_factory=list)
    flashes: list[Candidate] = field(default_factory=list)
    returning: list[int] = field(default_factory=list)  # event ids back with a development

    @property
    def title(self) -> str:
        return f"Daily brief: {self.day.strftime('%A, %d %B %Y')}"

    def data(self) -> dict[str, Any]:
        return {
            "kind": "daily",
            "period": self.day.isoformat(),
            "title": self.title,
            "entries": [asdict(c) | {"tags": list(c.tags)} for c in self.entries],
            "flashes": [asdict(c) | {"tags": list(c.tags)} for c in self.flashes],
            "returning": self.returning,
            "overview": None,  # written only by a model; the rules brief never fakes one
        }


def _event_key(c: Candidate) -> tuple[str, int]:
    return ("event", c.event_id) if c.event_id is not None else ("item", c.item_id)


def compose_daily(day: date, candidates: list[Candidate], earlier: Earlier) -> Brief:
    brief = Brief(day)
    by_event: dict[tuple[str, int], list[Candidate]] = {}
    for c in candidates:
        by_event.setdefault(_event_key(c), []).append(c)
    chosen: list[Candidate] = []
    for members in by_event.values():
        event_id = members[0].event_id
        if event_id is not None and event_id in earlier.event_ids:
            fresh = [
                m for m in members
                if m.item_id not in earlier.item_ids and TIER_RANK[m.tier] <= TIER_RANK["featured"]
            ]  # fmt: skip
            if not fresh:
                continue
            members = fresh
            brief.returning.append(event_id)
        chosen.append(max(members, key=lambda m: (m.rank, -TIER_RANK[m.tier], -m.item_id)))
    chosen.sort(key=lambda c: (-c.rank, TIER_RANK[c.tier], c.item_id))
    per_source: dict[str, int] = {}
    for c in chosen:
        if per_source.get(c.source_id, 0) >= PER_SOURCE:
            continue
        if len(brief.entries) < FULL_ENTRIES:
            brief.entries.append(c)
        elif len(brief.flashes) < FLASHES:
            brief.flashes.append(c)
        else:
            break
        per_source[c.source_id] = per_source.get(c.source_id, 0) + 1
    brief.returning = sorted(
        e for e in brief.returning if any(c.event_id == e for c in brief.entries + brief.flashes)
    )
    return brief
