"""What a draft policy would do, measured before anyone approves it.

The rules editor judges the same stories under the current policy and the draft: which
stories enter and leave p1/featured, how many votes each agrees with, and precision, recall
and F1 on a gold file side by side. Deterministic and free, so a draft equal to the current
policy reports no moves at all. No I/O: the runner hands in stories, votes and gold cases.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from newsdesk.domain import Tier
from newsdesk.editor.propose import (
    MAX_F1_DROP,
    SELECTED,
    Reading,
    Story,
    Voted,
    gold_scores,
)
from newsdesk.editor.rules import verdict
from newsdesk.policy import Policy

RANK = {Tier.EXCLUDED: 0, Tier.ALL: 1, Tier.FEATURED: 2, Tier.P1: 3}
LIST_LIMIT = 200  # stories listed per direction; the counts are always whole


def preview(
    current: Policy,
    draft: Policy,
    stories: list[Story],
    voted: list[Voted],
    gold: list[tuple[bool, Reading]],
) -> dict[str, Any]:
    enter: list[dict[str, Any]] = []
    leave: list[dict[str, Any]] = []
    tiers: dict[str, Counter[str]] = {"current": Counter(), "draft": Counter()}
    for story in stories:
        old, new = verdict(story.reading, current), verdict(story.reading, draft)
        tiers["current"][old.tier.value] += 1
        tiers["draft"][new.tier.value] += 1
        if old.tier is new.tier:
            continue
        row = {
            "item_id": story.item_id,
            "title": story.title,
            "from": old.tier.value,
            "to": new.tier.value,
            "importance_from": old.importance,
            "importance_to": new.importance,
        }
        if new.tier in SELECTED and RANK[new.tier] > RANK[old.tier]:
            enter.append(row)
        elif old.tier in SELECTED and RANK[new.tier] < RANK[old.tier]:
            leave.append(row)
    agreement = {"votes": 0, "current": 0, "draft": 0, "disputed": 0}
    for v in voted:
        if v.want is None:
            agreement["disputed"] += 1
            continue
        agreement["votes"] += 1
        agreement["current"] += (verdict(v.story.reading, current).tier in SELECTED) == v.want
        agreement["draft"] += (verdict(v.story.reading, draft).tier in SELECTED) == v.want
    before, after = gold_scores(gold, current), gold_scores(gold, draft)
    drop = round(before["f1"] - after["f1"], 4)
    return {
        "current_version": current.version,
        "draft_version": draft.version,
        "stories": len(stories),
        "current": before,
        "draft": after,
        "gold_cases": len(gold),
        "f1_drop": drop,
        "needs_confirmation": drop > MAX_F1_DROP,
        "enter": enter[:LIST_LIMIT],
        "leave": leave[:LIST_LIMIT],
        "entered": len(enter),
        "left": len(leave),
        "votes_agreement": agreement,
        "tiers": {name: {t.value: counts[t.value] for t in Tier} for name, counts in tiers.items()},
    }
