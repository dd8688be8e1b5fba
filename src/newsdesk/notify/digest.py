"""A person's alert messages, composed by rules from judged stories (no model): one story at
once ("immediately"), or a digest of what their follows brought in a day or a week. Every
message ends with the person's unsubscribe link.

Stories come in as plain dicts (id, title, summary, source, tier, importance, url); the runner
picks them, this module only writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_PER_GROUP = 8


@dataclass(frozen=True)
class Message:
    kind: str  # alert (one story) or digest
    ref: str  # the outbox key: "USER:ITEM" or "USER:d:DAY" / "USER:w:MONDAY"
    title: str
    body: str  # Markdown
    stories: list[int] = field(default_factory=list)


def _line(story: dict[str, Any], base_url: str) -> str:
    title = (story.get("title") or "").replace("[", "\\[").replace("]", "\\]")
    meta = f"{story.get('source', '')} · {str(story.get('tier', '')).upper()}"
    return f"- [{title}]({story['url']}) — {meta} · [on the desk]({base_url}/items/{story['id']})"


def _footer(unsubscribe_url: str) -> str:
    return f"\n\n---\nYou follow these on newsdesk. Stop these alerts: {unsubscribe_url}\n"


def story_alert(
    user_id: int, follow_label: str, story: dict[str, Any], base_url: str, unsubscribe_url: str
) -> Message:
    summary = story.get("summary") or ""
    body = (
        f"New on **{follow_label}**, which you follow:\n\n{_line(story, base_url)}\n"
        + (f"\n{summary}\n" if summary else "")
        + _footer(unsubscribe_url)
    )
    return Message("alert", f"{user_id}:{story['id']}", f"{follow_label}: {story.get('title')}",
                   body, [story["id"]])  # fmt: skip


def digest(
    user_id: int, period: str, label: str, groups: list[tuple[str, list[dict[str, Any]]]],
    base_url: str, unsubscribe_url: str,
) -> Message | None:  # fmt: skip
    """A digest of the follows' stories (groups of (follow label, stories), each newest
    first); None when there is nothing to tell."""
    groups = [(name, stories) for name, stories in groups if stories]
    if not groups:
        return None
    seen: set[int] = set()
    parts = [f"# {label}", ""]
    for name, stories in groups:
        fresh = [s for s in stories if s["id"] not in seen][:MAX_PER_GROUP]
        if not fresh:
            continue
        seen.update(s["id"] for s in fresh)
        parts += [f"## {name}", "", *(_line(s, base_url) for s in fresh), ""]
    count = len(seen)
    title = f"{label}: {count} stor{'y' if count == 1 else 'ies'} from what you follow"
    return Message("digest", f"{user_id}:{period}", title,
                   "\n".join(parts).rstrip() + _footer(unsubscribe_url), sorted(seen))  # fmt: skip
