"""Weekly and monthly reports, compiled from the stored daily briefs (rules only).

The entries are the dailies' entries, one per event (the strongest appearance wins), ranked the
way the dailies rank them, then grouped into sections by their topic tag (sections in the order
of their best entry). The overview and the section intros are a model's job
(reports/overview.py); without a model they are left out, never imitated.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from typing import Any

WEEKLY_ENTRIES = 15
MONTHLY_ENTRIES = 20
OTHER = "Other stories"


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday around a day."""
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


def month_of(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    return start, start.replace(day=monthrange(day.year, day.month)[1])


def _rank(entry: dict[str, Any]) -> float:
    coverage = int(entry.get("coverage") or 1)
    return (
        int(entry.get("importance") or 0)
        + 2 * min(coverage - 1, 5)
        + (3 if entry.get("first_party") else 0)
    )


def compile_period(
    kind: str, start: date, end: date, dailies: list[dict[str, Any]]
) -> dict[str, Any]:
    """A weekly or monthly report from the daily briefs' data between start and end."""
    best: dict[tuple[str, int], dict[str, Any]] = {}
    days = []
    for daily in sorted(dailies, key=lambda d: d["period"]):
        days.append(daily["period"])
        for entry in [*daily.get("entries", []), *daily.get("flashes", [])]:
            key = (
                ("event", entry["event_id"])
                if entry.get("event_id")
                else ("item", entry["item_id"])
            )
            entry = entry | {"day": daily["period"]}
            if key not in best or _rank(entry) > _rank(best[key]):
                best[key] = entry
    limit = WEEKLY_ENTRIES if kind == "weekly" else MONTHLY_ENTRIES
    ranked = sorted(best.values(), key=lambda e: (-_rank(e), e["item_id"]))[:limit]
    sections: dict[str, list[dict[str, Any]]] = {}
    for entry in ranked:
        sections.setdefault(entry.get("topic") or OTHER, []).append(entry)
    if OTHER in sections:  # the catch-all goes last, whatever its rank
        sections[OTHER] = sections.pop(OTHER)
    entries = [e for members in sections.values() for e in members]
    label = f"Week of {start.strftime('%d %B %Y')}" if kind == "weekly" else start.strftime("%B %Y")
    return {
        "kind": kind,
        "period": start.isoformat(),
        "end": end.isoformat(),
        "title": f"{kind.capitalize()} report: {label}",
        "days": days,
        "entries": entries,
        "flashes": [],
        "sections": [
            {"name": name, "intro": None, "item_ids": [e["item_id"] for e in members]}
            for name, members in sections.items()
        ],
        "overview": None,
    }
