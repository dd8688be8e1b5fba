"""Calibration ("selection eval"): how well an editor picks what a demanding human would.

A gold file is JSON Lines, one case per line:
`{"id", "title", "url", "published_at", "body", "source": {"name", "kind", "tier", "language"},
  "split": "dev"|"holdout", "gold": {"decision": "select"|"reject"|"either", "tier"?}}`
and optionally `"coverage"` (independent sources on the event). "select" means p1 or featured;
"either" is not scored. No I/O beyond reading the file; the editor comes in as a function.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsdesk.domain import Item, Judgement, Source, SourceTier, Tier

SELECTED = (Tier.P1, Tier.FEATURED)
DECISIONS = ("select", "reject", "either")
TIERS = ("p1", "featured", "all", "excluded")


class GoldError(ValueError):
    """The gold file cannot be used; the message names the line."""


@dataclass(frozen=True)
class Case:
    id: str
    item: Item
    source: Source
    split: str
    decision: str
    tier: str = ""
    coverage: int = 1


@dataclass
class Outcome:
    case: Case
    judgement: Judgement | None
    error: str = ""

    @property
    def selected(self) -> bool:
        return self.judgement is not None and self.judgement.tier in SELECTED


@dataclass
class Report:
    split: str
    editor: str
    cases: int
    scored: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    sweep: list[dict[str, float]] = field(default_factory=list)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    wrong: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def load_gold(path: Path) -> list[Case]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldError(f"cannot read gold file {path}: {exc.strerror}") from None
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            case = _case(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldError(f"{path}:{number}: not a gold case ({exc})") from None
        if case.id in seen:
            raise GoldError(f"{path}:{number}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise GoldError(f"{path}: no cases")
    return cases


def _case(raw: dict[str, Any]) -> Case:
    src = raw["source"]
    decision = raw["gold"]["decision"]
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    tier = raw["gold"].get("tier") or ""
    if tier and tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}")
    published = _parse_time(raw.get("published_at"))
    now = published or datetime(2025, 1, 1, tzinfo=UTC)
    name = str(src["name"])
    source = Source(
        id="gold-" + hashlib.sha1(name.encode()).hexdigest()[:8],
        name=name,
        url=str(raw.get("url", "")),
        kind=str(src.get("kind", "rss")),
        language=str(src.get("language", "en")),
        tier=SourceTier(src.get("tier", "T2")),
    )
    body = str(raw.get("body", ""))
    item = Item(
        identity_key=f"gold:{raw['id']}",
        source_id=source.id,
        url=str(raw.get("url", "")),
        title=str(raw["title"]),
        body_text=body,
        body_html="",
        language=source.language,
        published_at=published,
        filed_at=now,
        first_seen_at=now,
        backfill=False,
        content_hash=hashlib.sha256(f"{raw['title']}\n{body}".encode()).hexdigest(),
    )
    return Case(
        id=str(raw["id"]),
        item=item,
        source=source,
        split=str(raw.get("split", "dev")),
        decision=decision,
        tier=tier,
        coverage=int(raw.get("coverage", 1)),
    )


Editor = Callable[[Case], Awaitable[Judgement]]


async def run_editor(cases: list[Case], editor: Editor) -> list[Outcome]:
    outcomes = []
    for case in cases:
        try:
            outcomes.append(Outcome(case, await editor(case)))
        except Exception as exc:  # a failed case is reported, not fatal
            outcomes.append(Outcome(case, None, f"{type(exc).__name__}: {exc}"))
    return outcomes


def _prf(tp: int, fp: int, fn: int, tn: int) -> tuple[float, float, float, float]:
    total = tp + fp + fn + tn
    accuracy = (tp + tn) / total if total else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(accuracy, 4), round(precision, 4), round(recall, 4), round(f1, 4)


def evaluate(outcomes: list[Outcome], split: str, editor: str) -> Report:
    chosen = [o for o in outcomes if split == "all" or o.case.split == split]
    scored = [o for o in chosen if o.case.decision != "either" and o.judgement is not None]
    counts = Counter((o.case.decision == "select", o.selected) for o in scored)
    accuracy, precision, recall, f1 = _prf(
        counts[(True, True)], counts[(False, True)], counts[(True, False)], counts[(False, False)]
    )
    sweep = []
    for threshold in range(40, 91, 2):
        c = Counter(
            (o.case.decision == "select", o.judgement.importance >= threshold)  # type: ignore[union-attr]
            for o in scored
        )
        a, p, r, f = _prf(c[(True, True)], c[(False, True)], c[(True, False)], c[(False, False)])
        sweep.append({"threshold": threshold, "accuracy": a, "precision": p, "recall": r, "f1": f})
    confusion: dict[str, dict[str, int]] = {}
    for o in chosen:
        if o.judgement is None:
            continue
        gold = o.case.tier or o.case.decision
        row = confusion.setdefault(gold, dict.fromkeys(TIERS, 0))
        row[o.judgement.tier.value] += 1
    wrong = [
        {
            "id": o.case.id,
            "title": o.case.item.title,
            "gold": o.case.decision + (f"/{o.case.tier}" if o.case.tier else ""),
            "predicted": f"{o.judgement.tier.value} {o.judgement.importance}",  # type: ignore[union-attr]
            "why": o.judgement.why,  # type: ignore[union-attr]
        }
        for o in scored
        if (o.case.decision == "select") != o.selected
    ]
    errors = [{"id": o.case.id, "error": o.error} for o in chosen if o.judgement is None]
    return Report(split, editor, len(chosen), len(scored), accuracy, precision, recall, f1,
                  sweep, confusion, wrong, errors)  # fmt: skip
