"""Grouping evaluation over labelled pairs: confusion matrix, per-relation and binary scores.

Binary: a "merge" is same_occurrence or same_story (the story joins the event); the rest stay
apart. The desk's precision there is what readers feel: a false merge hides a story.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from newsdesk.events.grouping import RELATIONS

MERGE = {"same_occurrence", "same_story"}


@dataclass(frozen=True, slots=True)
class Outcome:
    case_id: str
    gold: str
    predicted: str
    reasons: tuple[str, ...] = ()


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
            "support": tp + fn}  # fmt: skip


def report(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    rows = list(outcomes)
    matrix = Counter((o.gold, o.predicted) for o in rows)
    per = {}
    for rel in RELATIONS:
        tp = matrix[(rel, rel)]
        fp = sum(n for (g, p), n in matrix.items() if p == rel and g != rel)
        fn = sum(n for (g, p), n in matrix.items() if g == rel and p != rel)
        per[rel] = _prf(tp, fp, fn)
    btp = sum(1 for o in rows if o.gold in MERGE and o.predicted in MERGE)
    bfp = sum(1 for o in rows if o.gold not in MERGE and o.predicted in MERGE)
    bfn = sum(1 for o in rows if o.gold in MERGE and o.predicted not in MERGE)
    binary = _prf(btp, bfp, bfn)
    return {
        "pairs": len(rows),
        "accuracy": round(sum(o.gold == o.predicted for o in rows) / len(rows), 4) if rows else 0,
        "confusion": {g: {p: matrix[(g, p)] for p in RELATIONS} for g in RELATIONS},
        "relations": per,
        "binary": binary,
        "errors": [
            {"id": o.case_id, "gold": o.gold, "predicted": o.predicted, "reasons": list(o.reasons)}
            for o in rows
            if o.gold != o.predicted
        ],
    }
