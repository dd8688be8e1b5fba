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
from newsdesk.editor.propose import MAX_F1_DROP, SELECTED, Story, Voted, gold_scores
from newsdesk.editor.rules import Reading, verdict
from newsdesk.policy import Policy

RANK = {Tier.EXCLUDED: 0, Tier.ALL: 1, Tier.FEATURED: 2, Tier.P1: 3}
LIST_LIMIT = 200  # stories listed per direction; the counts are always whole


Verdicts = dict[int, tuple[Tier, int]]  # story id -> (tier, importance)


def preview(
    current: Policy,
    draft: Policy,
    stories: list[Story],
    voted: list[Voted],
    gold: list[tuple[bool, Reading]],
    days: dict[int, str] | None = None,
) -> dict[str, Any]:
    """The rules editor's preview: every story judged under both policies, for free. `days`
    (story id -> the day it was filed) adds the tiers per day under each."""
    before: Verdicts = {}
    after: Verdicts = {}
    for story in stories:
        old, new = verdict(story.reading, current), verdict(story.reading, draft)
        before[story.item_id] = (old.tier, old.importance)
        after[story.item_id] = (new.tier, new.importance)
    agreement = []
    for v in voted:
        if v.want is None:
            agreement.append((None, False, False))
            continue
        was = verdict(v.story.reading, current).tier in SELECTED
        now = verdict(v.story.reading, draft).tier in SELECTED
        agreement.append((v.want, was, now))
    titles = {s.item_id: s.title for s in stories}
    figures = compare(
        titles, before, after, agreement, gold_scores(gold, current), gold_scores(gold, draft),
        days,
    )  # fmt: skip
    return figures | {
        "current_version": current.version,
        "draft_version": draft.version,
        "gold_cases": len(gold),
        "editor": "rules",
    }


def compare(
    titles: dict[int, str],
    before: Verdicts,
    after: Verdicts,
    agreement: list[tuple[bool | None, bool, bool]],
    gold_before: dict[str, float],
    gold_after: dict[str, float],
    days: dict[int, str] | None = None,
) -> dict[str, Any]:
    """The preview's figures from two sets of verdicts, whichever editor made them.
    `agreement` holds (wanted selected, selected before, selected after) per voted story,
    None for a disputed one."""
    enter: list[dict[str, Any]] = []
    leave: list[dict[str, Any]] = []
    tiers: dict[str, Counter[str]] = {"current": Counter(), "draft": Counter()}
    for item_id, (old, old_score) in before.items():
        if item_id not in after:
            continue
        new, new_score = after[item_id]
        tiers["current"][old.value] += 1
        tiers["draft"][new.value] += 1
        if old is new:
            continue
        row = {
            "item_id": item_id,
            "title": titles.get(item_id, ""),
            "from": old.value,
            "to": new.value,
            "importance_from": old_score,
            "importance_to": new_score,
        }
        if new in SELECTED and RANK[new] > RANK[old]:
            enter.append(row)
        elif old in SELECTED and RANK[new] < RANK[old]:
            leave.append(row)
    votes = {"votes": 0, "current": 0, "draft": 0, "disputed": 0}
    for want, was, now in agreement:
        if want is None:
            votes["disputed"] += 1
            continue
        votes["votes"] += 1
        votes["current"] += was == want
        votes["draft"] += now == want
    drop = round(gold_before["f1"] - gold_after["f1"], 4)
    by_day: dict[str, dict[str, dict[str, int]]] = {"current": {}, "draft": {}}
    for item_id, (old, _) in before.items():
        day = (days or {}).get(item_id)
        if day is None or item_id not in after:
            continue
        for name, tier in (("current", old), ("draft", after[item_id][0])):
            counts = by_day[name].setdefault(day, {})
            counts[tier.value] = counts.get(tier.value, 0) + 1
    return {
        "stories": sum(tiers["current"].values()),
        "current": gold_before,
        "draft": gold_after,
        "f1_drop": drop,
        "needs_confirmation": drop > MAX_F1_DROP,
        "enter": enter[:LIST_LIMIT],
        "leave": leave[:LIST_LIMIT],
        "entered": len(enter),
        "left": len(leave),
        "votes_agreement": votes,
        "tiers": {name: {t.value: counts[t.value] for t in Tier} for name, counts in tiers.items()},
        "tiers_by_day": by_day if days is not None else None,
    }
