"""The policy's numbers applied as code: featured lines and tiers."""

from __future__ import annotations

from newsdesk.domain import HKR, SourceTier, Tier
from newsdesk.policy.loader import Policy


def featured_line(policy: Policy, source_tier: SourceTier) -> int | None:
    """The importance a story needs to be featured; None when its source can never feature."""
    line = policy["featured_line"].get(source_tier.value)
    return int(line) if line is not None else None


def decide_tier(
    policy: Policy,
    importance: float,
    hkr: HKR,
    source_tier: SourceTier,
    hard_excluded: bool = False,
    secondary: bool = False,
    follow_up: bool = False,
) -> tuple[Tier, int]:
    """Return (tier, importance after caps). Importance is clamped to 0..100.

    `secondary`: the story is another source's report of an event whose lead comes from a
    source of a higher tier (a media report of a lab's own post). Like community signal, it adds
    coverage and heat to that event and is not featured on its own: readers see the event once,
    through its lead, and the lead already earns the coverage bonus.

    `follow_up`: a paper on a model whose release the desk carried days before (`is_follow_up`).
    Readers met the model with its release; the paper is kept and searchable, not featured on
    its own."""
    importance = max(0, min(100, round(importance)))
    if hard_excluded or hkr.count == 0:
        return Tier.EXCLUDED, min(importance, int(policy["exclusion_cap"]))
    line = featured_line(policy, source_tier)
    # community signal, secondary reports and follow-up papers never feature on their own
    if line is None or secondary or follow_up:
        return Tier.ALL, importance
    if hkr.count >= int(policy.numbers.get("p1_min_hkr", 3)) and importance >= int(
        policy["p1_min_importance"]
    ):
        return Tier.P1, importance
    if hkr.count >= int(policy["featured_min_hkr"]) and importance >= line:
        return Tier.FEATURED, importance
    return Tier.ALL, importance


def follow_up_days(policy: Policy) -> float:
    """`follow_up_days`: how long after the desk carried a model's release a paper naming it is
    a follow-up; 0 (or absent) switches follow-ups off."""
    value = policy.numbers.get("follow_up_days", 0)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def is_follow_up(policy: Policy, days_since_release: float | None) -> bool:
    """A paper whose title names a model a release story of the desk named `days_since_release`
    days before it (None: no such release) is a follow-up under this policy."""
    days = follow_up_days(policy)
    return days > 0 and days_since_release is not None and days_since_release >= days
