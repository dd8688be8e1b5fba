"""The editors' adjustments: bounded points per tag or source, added by code after the score.

The front matter's `[adjust.capability]`, `[adjust.topic]`, `[adjust.entity]` and
`[adjust.source]` tables map a tag (or a source id) to points in [-15, +15]. Whichever editor
scored the story (rules or model), code adds the points of every tag the story carries and of
its source, holds the sum within the same bounds, and records each one so the card's "why" can
say "−6: Product update (editors' policy)".
"""

from __future__ import annotations

from typing import Any

from newsdesk.domain import ScorePart, Tags
from newsdesk.policy.loader import Policy

LIMIT = 15  # one adjustment, and their sum on one story, stay within ±LIMIT
AXES = ("capability", "topic", "entity", "source")
ORIGIN = "editors"


def adjust_table(policy: Policy) -> dict[str, dict[str, int]]:
    """The adjustments by axis; missing tables are empty."""
    raw: Any = policy.numbers.get("adjust") or {}
    tables: dict[str, dict[str, int]] = {}
    for axis in AXES:
        table = raw.get(axis) if isinstance(raw, dict) else None
        tables[axis] = {str(k): int(v) for k, v in (table or {}).items() if int(v) != 0}
    return tables


def story_keys(tags: Tags, source_id: str) -> dict[str, tuple[str, ...]]:
    """What a story can be adjusted by, per axis."""
    return {
        "capability": tags.capabilities,
        "topic": tags.topics,
        "entity": tags.entities,
        "source": (source_id,) if source_id else (),
    }


def adjustments(policy: Policy, tags: Tags, source_id: str) -> list[ScorePart]:
    """Every adjustment that applies to a story with these tags from this source."""
    tables = adjust_table(policy)
    parts: list[ScorePart] = []
    for axis, keys in story_keys(tags, source_id).items():
        for key in dict.fromkeys(keys):
            points = tables[axis].get(key, 0)
            if points:
                label = f"source {key}" if axis == "source" else key
                parts.append(ScorePart(max(-LIMIT, min(LIMIT, points)), label, ORIGIN))
    return parts


def adjusted(raw: float, parts: list[ScorePart]) -> float:
    """The score after the editors' adjustments, their sum held within ±LIMIT."""
    total = sum(p.points for p in parts if p.origin == ORIGIN)
    return raw + max(-LIMIT, min(LIMIT, total))


def bonus_parts(notes: list[str]) -> tuple[ScorePart, ...]:
    """The policy bonuses an editor noted as "label +N", as parts of the breakdown."""
    parts = []
    for note in notes:
        label, sep, points = note.rpartition(" +")
        if sep and points.isdigit():
            parts.append(ScorePart(int(points), label, "policy"))
    return tuple(parts)


def describe(part: ScorePart) -> str:
    """'−6: Product update (editors' policy)' — how a card's "why" names one adjustment."""
    sign = "+" if part.points > 0 else "−"
    who = "editors' policy" if part.origin == ORIGIN else "policy bonus"
    return f"{sign}{abs(part.points)}: {part.label} ({who})"
