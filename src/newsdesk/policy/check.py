"""Sanity checks on a policy's numbers, so a typo is caught before it judges a single story."""

from __future__ import annotations

from typing import Any

from newsdesk.policy.loader import Policy

SOURCE_TIERS = ("T1", "T1_5", "T2", "T3")


def _score(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100


def check_policy(policy: Policy) -> list[str]:
    """Every problem found, one line each; an empty list means the policy is usable."""
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
    lines = n.get("featured_line", {})
    if not isinstance(lines, dict):
        problems.append("[featured_line] must be a table of source tiers")
        lines = {}
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
    bands = n.get("bands", {})
    values = [v for v in bands.values() if _score(v)] if isinstance(bands, dict) else []
    if len(values) != len(bands) or values != sorted(values, reverse=True):
        problems.append("[bands] must be numbers from 0 to 100, highest band first")
    for key, value in (n.get("bonus") or {}).items():
        if not isinstance(value, int | float) or not 0 <= value <= 10:
            problems.append(f"bonus.{key} must be a number from 0 to 10")
    lengths = n.get("lengths", {})
    for key in ("sharp_p1_words", "sharp_featured_words"):
        pair = lengths.get(key)
        if pair is not None and (
            not isinstance(pair, list) or len(pair) != 2 or not 0 < pair[0] <= pair[1]
        ):
            problems.append(f"lengths.{key} must be [min, max] with 0 < min <= max")
    for key in ("why_max_chars", "take_max_chars"):
        value = lengths.get(key)
        if value is not None and (not isinstance(value, int) or value <= 0):
            problems.append(f"lengths.{key} must be a positive integer")
    if not policy.brief.strip():
        problems.append("the editor's brief after the front matter is empty")
    return problems
