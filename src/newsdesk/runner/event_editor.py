"""Wiring of event-level judgement and commentary (multi-source events, editor/event.py).

`judge_step` (runner/editor.py) runs these beside the per-story judgements, in the same
gather, so the event calls share the provider's concurrency instead of waiting behind a
barrier. The event judgement reads the lead's text and the other reports' titles, not their
judgements, so it needs nothing from the story judgements of the same pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from newsdesk.domain import Judgement, Tier
from newsdesk.editor.comment import RelatedStory, history_query
from newsdesk.editor.event import (
    EventBasis,
    EventMember,
    event_commentary,
    event_judgement,
    rejudge_due,
    rules_event_judgement,
)
from newsdesk.editor.judge import coverage_bonus
from newsdesk.editor.providers import BudgetExceeded, LLMProvider
from newsdesk.policy import Policy
from newsdesk.store import editor as store
from newsdesk.store import event_judgements as event_store
from newsdesk.store.db import Database
from newsdesk.store.event_judgements import EventTodo


def _basis(todo: EventTodo) -> EventBasis:
    return EventBasis(todo.lead_id, todo.lead_revision, todo.sources_count)


def _judged_basis(todo: EventTodo) -> EventBasis | None:
    row = todo.judged
    if row is None or row.lead_item_id is None:
        return None
    return EventBasis(row.lead_item_id, row.lead_revision, row.sources_count)


def _members(todo: EventTodo) -> list[EventMember]:
    return [EventMember(**m) for m in todo.members]


def events_due(db: Database, policy: Policy) -> list[EventTodo]:
    """Multi-source events whose judgement is missing or could now come out differently."""
    with db.read() as conn:
        todos = event_store.events_to_judge(conn)
    return [e for e in todos if rejudge_due(policy, _basis(e), _judged_basis(e))]


async def judge_event_rules(db: Database, policy: Policy, todo: EventTodo, summary: Any) -> None:
    """Offline: the rules editor over the lead with the coverage count; no commentary."""
    try:
        judgement = rules_event_judgement(todo.lead, todo.source, policy, todo.sources_count)
    except Exception as exc:  # one bad event must not stop the desk
        await _failed(db, todo.event_id, exc, summary)
        return
    await _save(db, policy, todo, judgement, None, [], summary)


async def judge_event_model(
    db: Database, client: LLMProvider, policy: Policy, todo: EventTodo, summary: Any
) -> None:
    """One model judgement of the event, then its one commentary when it is p1 or featured."""
    try:
        result = await event_judgement(
            client, todo.lead, todo.source, _members(todo), policy, todo.sources_count
        )
    except BudgetExceeded as exc:
        summary.paused = str(exc)
        return
    except Exception as exc:
        await _failed(db, todo.event_id, exc, summary)
        return
    await _save(db, policy, todo, result.judgement, result.receipt_id, result.flags, summary)
    summary.second_opinions += result.second_opinion
    if result.judgement.tier in (Tier.P1, Tier.FEATURED):
        await comment_event(db, client, policy, summary, todo, result.judgement)


async def comment_event(
    db: Database,
    client: LLMProvider,
    policy: Policy,
    summary: Any,
    todo: EventTodo,
    judgement: Judgement,
) -> None:
    """Take and sharp once for the whole event (stored with the event, not a story)."""
    query = history_query(judgement, todo.lead)
    with db.read() as conn:
        related = [
            RelatedStory(r["title"], r["filed_at"], r["summary"], r["source"])
            for r in store.related_stories(
                conn, todo.lead_id, query, todo.lead.filed_at, exclude=todo.member_ids
            )
        ]
    try:
        result = await event_commentary(
            client, todo.lead, todo.source, judgement, _members(todo), policy, related
        )
    except BudgetExceeded as exc:
        summary.paused = str(exc)
        return
    except Exception as exc:
        summary.comment_failed += 1
        message = f"comment: {type(exc).__name__}: {exc}"[:500]
        await db.write(lambda c: event_store.mark_event_error(c, todo.event_id, message))
        return
    now = datetime.now(UTC)

    def save(c: Any) -> None:
        event_store.save_event_commentary(c, todo.event_id, result.commentary, policy.version,
                                          result.receipt_id, now)  # fmt: skip
        store.save_guard_flags(c, todo.lead_id, "event_comment", result.flags, now)

    await db.write(save)
    summary.commented += 1
    summary.events_commented += 1


async def _save(
    db: Database,
    policy: Policy,
    todo: EventTodo,
    judgement: Judgement,
    receipt_id: int | None,
    flags: list[Any],
    summary: Any,
) -> None:
    basis = (todo.lead_id, todo.lead_revision, todo.sources_count,
             coverage_bonus(policy, todo.sources_count))  # fmt: skip
    now = datetime.now(UTC)

    def save(c: Any) -> None:
        event_store.save_event_judgement(c, todo.event_id, judgement, basis, receipt_id, now)
        store.save_guard_flags(c, todo.lead_id, "event_judge", flags, now)

    await db.write(save)
    summary.events_judged += 1


async def _failed(db: Database, event_id: int, exc: Exception, summary: Any) -> None:
    summary.events_failed += 1  # retried next pass: the event has no current judgement
    message = f"{type(exc).__name__}: {exc}"[:500]
    await db.write(lambda c: event_store.mark_event_error(c, event_id, message))
