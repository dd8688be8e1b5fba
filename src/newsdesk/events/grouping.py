"""Rules-mode grouping: does a new story belong to an event already on the desk?

Two signals, both cheap and language-independent enough for English and Chinese reports to
meet: near-identical titles, and shared model/version tokens ("o3-mini", "Qwen3", "GPT-4.5")
reported within a few days of each other. A story attaches to the event of the story it matched,
never to a chain of developments.
"""

from __future__ import annotations

import re
from datetime import timedelta

from rapidfuzz import fuzz

from newsdesk.domain import GroupDecision, StoryRef

TITLE_MATCH = 0.86  # token-set ratio of normalised titles
MODEL_TOKEN_WINDOW = timedelta(days=3)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
_UNIT = re.compile(r"^\d+(\.\d+)?[a-z]{0,2}$")  # 128k, 70b, 3x: sizes, not names
_GENERIC = {"h100", "h200", "b200", "gb200", "a100", "mp4", "covid19", "q1", "q2", "q3", "q4"}


def model_tokens(text: str) -> set[str]:
    """Names that carry a version: letters and digits together, like o3-mini or qwen3."""
    found = set()
    for match in _TOKEN.finditer(text):
        token = match.group(0).lower().rstrip(".")
        has_digit = any(ch.isdigit() for ch in token)
        if not has_digit or _UNIT.match(token) or token in _GENERIC or len(token) < 2:
            continue
        found.add(token)
    return found


def _title_key(title: str) -> str:
    return " ".join(_TOKEN.findall(title.lower())) or title.lower()


def similarity(a: StoryRef, b: StoryRef) -> tuple[float, list[str]]:
    """A 0..1 score and the reasons behind it."""
    if a.url and a.url == b.url:
        return 1.0, ["same canonical URL"]
    reasons = []
    score = fuzz.token_set_ratio(_title_key(a.title), _title_key(b.title)) / 100
    if score >= TITLE_MATCH:
        reasons.append(f"titles {score:.0%} alike")
    shared = model_tokens(f"{a.title} {a.text}") & model_tokens(f"{b.title} {b.text}")
    title_tokens = model_tokens(a.title) | model_tokens(b.title)
    close_in_time = abs(a.filed_at - b.filed_at) <= MODEL_TOKEN_WINDOW
    if close_in_time and shared & title_tokens:
        score = max(score, 0.9)
        reasons.append("same model named within 3 days: " + ", ".join(sorted(shared)))
    return score, reasons


async def choose_event(new: StoryRef, candidates: list[StoryRef]) -> GroupDecision:
    """Pick the best matching candidate's event, or say that the story starts a new one."""
    best: tuple[float, StoryRef | None, list[str]] = (0.0, None, [])
    for other in candidates:
        if other.item_id == new.item_id or (
            other.source_id == new.source_id and other.url != new.url
        ):
            continue  # one source's two posts are two stories
        score, reasons = similarity(new, other)
        if reasons and score > best[0]:
            best = (score, other, reasons)
    score, match, reasons = best
    if match is None or match.event_id is None:
        return GroupDecision(event_id=None, relation="lead")
    return GroupDecision(
        event_id=match.event_id,
        relation="same_occurrence",
        similarity=score,
        matched_item_id=match.item_id,
        reasons=reasons,
    )
