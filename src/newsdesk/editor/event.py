"""Event-level judgement and commentary: an event several sources carry is judged once.

The lead's text is fenced as untrusted data as a single story is; the other reports' titles,
sources and dates follow in their own fence as context, and the coverage count turns into the
policy's coverage bonus, applied by code. Commentary (take + sharp) is written once for the
event, not once per report, and the faithfulness guard checks it against every report's text.
A new event judgement is due only when what it was made over changes in a way that can change
the outcome: another lead, a revised lead, or coverage crossing a bonus step. A new report
alone never re-judges. Without a model the rules editor judges the lead with the coverage count.

The runner hands everything in (members, the basis of the last judgement), so this stage never
touches the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsdesk.domain import Item, Judgement, Source, Transcript
from newsdesk.editor.comment import CommentResult, RelatedStory, model_commentary
from newsdesk.editor.judge import JudgeResult, coverage_bonus, model_judgement
from newsdesk.editor.providers import LLMProvider
from newsdesk.editor.rules import Release, rules_judgement
from newsdesk.policy import Policy

MAX_MEMBERS = 12  # the titles of the first dozen reports tell the model what the rest add
EXCERPT_CHARS = 600  # commentary reads a short excerpt of each other report


@dataclass(frozen=True)
class EventMember:
    """Another report of the event (not the lead), as context for the editor."""

    title: str
    source: str
    source_tier: str
    filed_at: datetime
    text: str = ""


@dataclass(frozen=True)
class EventBasis:
    """What an event judgement is made over; compared pass to pass to decide a re-judge."""

    lead_item_id: int
    lead_revision: int
    sources_count: int


def rejudge_due(policy: Policy, now: EventBasis, judged: EventBasis | None) -> bool:
    """True when the event has no judgement or its last one could now come out differently."""
    if judged is None:
        return True
    if (now.lead_item_id, now.lead_revision) != (judged.lead_item_id, judged.lead_revision):
        return True  # another text leads the event (a first-party report joined, a revision)
    # More sources change the outcome only through the coverage bonus (the count in the prompt
    # is context; a reader learns the live count from the event's coverage line).
    return coverage_bonus(policy, now.sources_count) != coverage_bonus(policy, judged.sources_count)


def _clean(text: str) -> str:
    return " ".join(text.replace("REPORTS>>>", "").replace("<<<REPORTS", "").split())


def reports_block(members: list[EventMember], excerpts: bool = False) -> str:
    """The other reports as untrusted data, in their own fence, oldest first."""
    lines = ["Other reports of this event:", "<<<REPORTS"]
    for m in sorted(members, key=lambda m: m.filed_at)[:MAX_MEMBERS]:
        lines.append(f"- {m.filed_at:%Y-%m-%d %H:%M} UTC | {_clean(m.source)} ({m.source_tier}) "
                     f"| {_clean(m.title)}")  # fmt: skip
        if excerpts and m.text:
            lines.append(f"  {_clean(m.text)[:EXCERPT_CHARS]}")
    if len(members) > MAX_MEMBERS:
        lines.append(f"- … and {len(members) - MAX_MEMBERS} more report(s)")
    lines.append("REPORTS>>>")
    return "\n".join(lines)


def _evidence(members: list[EventMember], excerpts: bool) -> tuple[str, ...]:
    shown = sorted(members, key=lambda m: m.filed_at)[:MAX_MEMBERS]
    out = [f"{m.filed_at:%Y-%m-%d} {m.title} {m.source}" for m in shown]
    if excerpts:
        out += [m.text[:EXCERPT_CHARS] for m in shown if m.text]
    return tuple(out)


async def event_judgement(
    client: LLMProvider,
    lead: Item,
    source: Source,
    members: list[EventMember],
    policy: Policy,
    coverage: int,
    transcript: Transcript | None = None,
    released: Release | None = None,
) -> JudgeResult:
    """One judgement of the whole event (model editor); a lead that is an episode is read
    with a sample of its `transcript`. `released`: the lead is a follow-up paper's candidate
    (`rules.release_before`), and so is the event."""
    return await model_judgement(
        client, lead, source, policy, coverage,
        context=reports_block(members), context_evidence=_evidence(members, False),
        transcript=transcript, released=released,
    )  # fmt: skip


def rules_event_judgement(
    lead: Item,
    source: Source,
    policy: Policy,
    coverage: int,
    heard: str = "",
    released: Release | None = None,
) -> Judgement:
    """Offline: the rules editor over the lead (and, a lead that is an episode, the passages
    its notes point to), with the event's coverage count."""
    return rules_judgement(lead, source, policy, coverage, heard, released=released)


async def event_commentary(
    client: LLMProvider,
    lead: Item,
    source: Source,
    judgement: Judgement,
    members: list[EventMember],
    policy: Policy,
    related: list[RelatedStory],
    transcript: Transcript | None = None,
) -> CommentResult:
    """One take and sharp for the event, grounded in every report and the desk's history."""
    return await model_commentary(
        client, lead, source, judgement, policy, related,
        context=reports_block(members, excerpts=True),
        context_evidence=_evidence(members, True), transcript=transcript,
    )  # fmt: skip
