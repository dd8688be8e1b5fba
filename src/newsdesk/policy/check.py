"""Sanity checks on a policy's numbers, so a typo is caught before it judges a single story."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from newsdesk.policy.adjust import AXES, LIMIT
from newsdesk.policy.loader import Policy, shipped_rules

SOURCE_TIERS = ("T1", "T1_5", "T2", "T3")


def _score(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100


def _table(n: dict[str, Any], key: str, problems: list[str]) -> dict[str, Any]:
    """The sub-table `key` (empty when absent); anything else is a problem, not a crash."""
    value = n.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"[{key}] must be a table")
        return {}
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_rules(rules: Any) -> list[str]:
    """The rules editor's points: the keys the shipped policy has, each a number in range."""
    if not isinstance(rules, dict):
        return ["[rules] must be a table of the rules editor's points"]
    problems: list[str] = []
    shipped = shipped_rules()
    for key, value in rules.items():
        if key not in shipped:
            problems.append(f"rules.{key} is not one of the rules editor's points")
        elif isinstance(shipped[key], dict):
            if not isinstance(value, dict):
                problems.append(f"[rules.{key}] must be a table")
                continue
            for sub, points in value.items():
                if sub not in shipped[key]:
                    known = ", ".join(shipped[key])
                    problems.append(f"rules.{key}.{sub} is unknown (one of: {known})")
                elif key == "base" and not _score(points):
                    problems.append(f"rules.base.{sub} must be a number from 0 to 100")
                elif key != "base" and not (_number(points) and -30 <= points <= 30):
                    problems.append(f"rules.{key}.{sub} must be a number from -30 to 30")
        elif key == "teaser_facts":  # a count of facts, like the caps below
            if not (_number(value) and 0 <= value <= 20):
                problems.append("rules.teaser_facts must be a number of facts from 0 to 20")
        elif key.startswith("max_"):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 20:
                problems.append(f"rules.{key} must be an integer from 0 to 20")
        elif not (_number(value) and -30 <= value <= 30):
            problems.append(f"rules.{key} must be a number from -30 to 30")
    return problems


def _check_adjust(adjust: Any, vocabulary: Mapping[str, Set[str]] | None) -> list[str]:
    """Adjustments: known axes, known tags where the vocabulary is controlled, ±LIMIT each."""
    if not isinstance(adjust, dict):
        return ["[adjust] must be a table of tables (capability, topic, entity, source)"]
    problems: list[str] = []
    for axis, table in adjust.items():
        if axis not in AXES:
            problems.append(f"adjust.{axis} is not one of {', '.join(AXES)}")
            continue
        if not isinstance(table, dict):
            problems.append(f"[adjust.{axis}] must be a table of names to points")
            continue
        known = (vocabulary or {}).get(axis)
        for name, points in table.items():
            if not name.strip():
                problems.append(f"adjust.{axis} has an empty name")
            elif known is not None and name not in known:
                problems.append(f"adjust.{axis}.{name!r} is not a {axis} of the vocabulary")
            if not isinstance(points, int) or isinstance(points, bool):
                problems.append(f"adjust.{axis}.{name!r} must be a whole number")
            elif not -LIMIT <= points <= LIMIT:
                problems.append(f"adjust.{axis}.{name!r} ({points}) is outside -{LIMIT}..{LIMIT}")
    return problems


def check_policy(policy: Policy, vocabulary: Mapping[str, Set[str]] | None = None) -> list[str]:
    """Every problem found, one line each; an empty list means the policy is usable.

    `vocabulary` maps an adjustment axis ("capability", "topic") to the names the editor's
    taxonomy knows; the policy package does not know the taxonomy itself."""
    n = policy.numbers
    problems: list[str] = []
    for key in ("p1_min_importance", "exclusion_cap"):
        if not _score(n.get(key)):
            problems.append(f"{key} must be a number from 0 to 100")
    for key, top in (("p1_min_hkr", 3), ("featured_min_hkr", 3)):
        value = n.get(key, 3)
        if not isinstance(value, int) or not 0 <= value <= top:
            problems.append(f"{key} must be an integer from 0 to {top}")
    margin = n.get("borderline_margin")
    if not isinstance(margin, int | float) or not 0 <= margin <= 20:
        problems.append("borderline_margin must be a number from 0 to 20")
    follow_up = n.get("follow_up_days", 0)
    if not _number(follow_up) or not 0 <= follow_up <= 365:
        problems.append("follow_up_days must be a number of days from 0 (off) to 365")
    lines = _table(n, "featured_line", problems)
    for tier, value in lines.items():
        if tier not in SOURCE_TIERS:
            problems.append(
                f"featured_line.{tier} is not a source tier ({', '.join(SOURCE_TIERS)})"
            )
        elif not _score(value):
            problems.append(f"featured_line.{tier} must be a number from 0 to 100")
    if isinstance(n.get("p1_min_importance"), int | float):
        for tier, value in lines.items():
            if _score(value) and value > n["p1_min_importance"]:
                problems.append(f"featured_line.{tier} ({value}) is above p1_min_importance")
    bands = _table(n, "bands", problems)
    values = [v for v in bands.values() if _score(v)]
    if len(values) != len(bands) or values != sorted(values, reverse=True):
        problems.append("[bands] must be numbers from 0 to 100, highest band first")
    for key, value in _table(n, "bonus", problems).items():
        if not isinstance(value, int | float) or not 0 <= value <= 10:
            problems.append(f"bonus.{key} must be a number from 0 to 10")
    lengths = _table(n, "lengths", problems)
    for key in ("sharp_p1_words", "sharp_featured_words"):
        pair = lengths.get(key)
        if pair is not None and (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in pair)
            or not 0 < pair[0] <= pair[1]
        ):
            problems.append(f"lengths.{key} must be [min, max] with 0 < min <= max")
    for key in ("why_max_chars", "take_max_chars"):
        value = lengths.get(key)
        if value is not None and (not isinstance(value, int) or value <= 0):
            problems.append(f"lengths.{key} must be a positive integer")
    problems.extend(_check_rules(n.get("rules", {})))
    problems.extend(_check_adjust(n.get("adjust", {}), vocabulary))
    if not policy.brief.strip():
        problems.append("the editor's brief after the front matter is empty")
    return problems
