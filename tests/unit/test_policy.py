from pathlib import Path

import pytest

from newsdesk.domain import HKR, SourceTier, Tier
from newsdesk.policy import decide_tier, load_policy
from newsdesk.policy.loader import PolicyError, parse_policy

POLICY = load_policy()
ALL3 = HKR(True, True, True)
TWO = HKR(True, True, False)


def test_version_is_content_hash() -> None:
    text = Path(POLICY.path).read_text(encoding="utf-8")
    assert parse_policy(text).version == POLICY.version
    changed = parse_policy(text.replace("p1_min_importance = 85", "p1_min_importance = 86"))
    assert changed.version != POLICY.version
    assert changed["p1_min_importance"] == 86


@pytest.mark.parametrize(
    ("importance", "hkr", "tier", "expected"),
    [
        (86, ALL3, SourceTier.T1, Tier.P1),
        (84, ALL3, SourceTier.T1, Tier.FEATURED),
        (72, TWO, SourceTier.T1, Tier.FEATURED),
        (72, TWO, SourceTier.T2, Tier.ALL),  # media needs 76
        (76, TWO, SourceTier.T2, Tier.FEATURED),
        (95, ALL3, SourceTier.T3, Tier.ALL),  # community never features alone
        (90, HKR(True, False, False), SourceTier.T1, Tier.ALL),
        (90, HKR(False, False, False), SourceTier.T1, Tier.EXCLUDED),
    ],
)
def test_tiers_follow_the_front_matter(importance, hkr, tier, expected) -> None:
    assert decide_tier(POLICY, importance, hkr, tier)[0] is expected


@pytest.mark.parametrize("tier", [SourceTier.T1, SourceTier.T2])
def test_a_secondary_report_is_never_featured_and_keeps_its_importance(tier) -> None:
    assert decide_tier(POLICY, 92, ALL3, tier, secondary=True) == (Tier.ALL, 92)
    assert decide_tier(POLICY, 92, HKR(False, False, False), tier, secondary=True)[0] is (
        Tier.EXCLUDED
    )


def test_hard_exclusion_caps_importance() -> None:
    tier, importance = decide_tier(POLICY, 88, ALL3, SourceTier.T1, hard_excluded=True)
    assert tier is Tier.EXCLUDED and importance == 39


def test_policy_without_front_matter_is_refused() -> None:
    with pytest.raises(PolicyError, match="front matter"):
        parse_policy("# just text")
    with pytest.raises(PolicyError, match="lacks"):
        parse_policy("+++\np1_min_importance = 85\n+++\ntext")
