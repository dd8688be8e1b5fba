"""Wiring of the model editor: receipts on the store, the judge and comment steps.

`run_once` calls `judge_step` and `comment_step`. With a model configured (and model calls
enabled) the model editor judges and comments; otherwise the rules editor judges and there is
no commentary. A story whose model call fails keeps no judgement and records the reason; the
next pass tries it again. A spent budget pauses the step with its reason; collecting goes on.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from newsdesk.config import Settings
from newsdesk.domain import HKR, Item, Judgement, Source, Tags, Tier
from newsdesk.editor import rules_judgement
from newsdesk.editor.comment import RelatedStory, history_query, model_commentary
from newsdesk.editor.judge import model_judgement
from newsdesk.editor.providers import (
    BudgetExceeded,
    CallUsage,
    Limits,
    LLMProvider,
    Receipt,
    Spend,
)
from newsdesk.policy import Policy
from newsdesk.runner.event_editor import (
    comment_event,
    events_due,
    judge_event_model,
    judge_event_rules,
)
from newsdesk.store import editor as store
from newsdesk.store import event_judgements as event_store
from newsdesk.store import repo
from newsdesk.store.db import Database
from newsdesk.store.event_judgements import EventTodo, multi_source_item_ids


class StoreReceipts:
    """The editor's ReceiptBook on the database, through the single write path."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(
        self, service: str, purpose: str, model: str, input_hash: str, hold: timedelta
    ) -> Receipt:
        now = datetime.now(UTC)
        rid, status, response, until = await self.db.write(
            lambda c: store.open_receipt(c, service, purpose, model, input_hash, now, hold)
        )
        return Receipt(rid, status, response, until)

    async def settle(
        self, receipt_id: int, response: dict[str, Any], usage: CallUsage, key: tuple[str, str, str]
    ) -> None:
        row = {"service": key[0], "purpose": key[1], "model": key[2], **asdict(usage)}
        now = datetime.now(UTC)
        await self.db.write(lambda c: store.settle_receipt(c, receipt_id, response, now, row))

    async def fail(self, receipt_id: int, status: str, error: str) -> None:
        now = datetime.now(UTC)
        await self.db.write(lambda c: store.fail_receipt(c, receipt_id, status, error, now))

    async def spent(self, service: str, since: datetime) -> Spend:
        with self.db.read() as conn:
            calls, tokens, cost = store.spent(conn, service, since)
        return Spend(calls, tokens, cost)

    async def limits(self, service: str) -> dict[str, Limits]:
        with self.db.read() as conn:
            rows = store.budget_limits(conn, service)
        return {window: Limits(*values) for window, values in rows.items()}


def model_editor(db: Database, settings: Settings) -> LLMProvider | None:
    if not (settings.llm_configured and settings.model_calls_enabled):
        return None
    return LLMProvider(settings, StoreReceipts(db))


async def judge_step(
    db: Database,
    settings: Settings,
    policy: Policy,
    todo: list[tuple[int, Item, Source]],
    coverage: dict[int, int],
    summary: Any,
    progress: Any,
    started: datetime,
) -> None:
    """Judge every story in `todo`: the model editor when configured, else the rules editor."""
    await db.write(
        lambda c: store.record_policy_version(c, policy.version, _policy_text(policy), started)
    )
    client = model_editor(db, settings)
    # Multi-source events are judged once as a whole, beside their stories' own judgements.
    events = events_due(db, policy)
    with db.read() as conn:
        in_events = multi_source_item_ids(conn, [item_id for item_id, _, _ in todo])
    progress.start("judge", len(todo) + len(events))
    if client is None:
        for item_id, item, source in todo:
            try:
                judgement = rules_judgement(item, source, policy, coverage.get(item_id, 1))
            except Exception as exc:  # one bad story must not stop the desk
                await _failed(db, item_id, exc, summary)
            else:
                await _save(db, item_id, judgement, None, [], started, summary)
            progress.advance("judge")
        for event in events:
            await judge_event_rules(db, policy, event, summary)
            progress.advance("judge")
        return

    # Twice the provider's limit in stories, so the wire stays full while some stories wait on
    # the database; the provider itself never has more than `llm_concurrency` calls out.
    limit = asyncio.Semaphore(2 * settings.llm_concurrency)

    async def one(item_id: int, item: Item, source: Source) -> None:
        async with limit:
            if summary.paused:
                return  # a budget is spent: the rest wait for the next pass
            try:
                result = await model_judgement(
                    client, item, source, policy, coverage.get(item_id, 1)
                )
            except BudgetExceeded as exc:
                summary.paused = str(exc)
            except Exception as exc:
                await _failed(db, item_id, exc, summary)
            else:
                await _save(db, item_id, result.judgement, result.receipt_id, result.flags,
                            started, summary)  # fmt: skip
                summary.second_opinions += result.second_opinion
                # Comment right away rather than after every story is judged: no barrier
                # between the steps, so the slowest judgement does not hold the comments up.
                # A report of a multi-source event gets the event's commentary instead.
                if result.judgement.tier in (Tier.P1, Tier.FEATURED) and item_id not in in_events:
                    await _comment_one(db, client, policy, summary, item_id, item, source,
                                       result.judgement)  # fmt: skip
        progress.advance("judge")

    async def one_event(event: EventTodo) -> None:
        async with limit:
            if not summary.paused:
                await judge_event_model(db, client, policy, event, summary)
        progress.advance("judge")

    try:
        await asyncio.gather(*(one(*row) for row in todo), *(one_event(e) for e in events))
    finally:
        await client.close()


async def comment_step(
    db: Database, settings: Settings, policy: Policy, summary: Any, progress: Any
) -> None:
    """Take and sharp for model-judged p1 and featured stories and multi-source events that
    have none yet (a failed or paused commentary of an earlier pass)."""
    client = model_editor(db, settings)
    if client is None or summary.paused:
        return
    with db.read() as conn:
        todo = store.items_to_comment(conn)
        events = event_store.events_to_comment(conn)
    progress.start("comment", len(todo) + len(events))
    limit = asyncio.Semaphore(2 * settings.llm_concurrency)

    async def one(item_id: int, item: Item, source: Source, jrow: Any) -> None:
        async with limit:
            if not summary.paused:
                judgement = _judgement_from_row(jrow)
                await _comment_one(db, client, policy, summary, item_id, item, source, judgement)
        progress.advance("comment")

    async def one_event(event: EventTodo, jrow: Any) -> None:
        async with limit:
            if not summary.paused:
                await comment_event(db, client, policy, summary, event, _judgement_from_row(jrow))
        progress.advance("comment")

    try:
        await asyncio.gather(*(one(*row) for row in todo), *(one_event(*e) for e in events))
    finally:
        await client.close()


async def _comment_one(
    db: Database,
    client: LLMProvider,
    policy: Policy,
    summary: Any,
    item_id: int,
    item: Item,
    source: Source,
    judgement: Judgement,
) -> None:
    """Take and sharp for one story, grounded in related earlier stories from the desk."""
    with db.read() as conn:
        related = [
            RelatedStory(r["title"], r["filed_at"], r["summary"], r["source"])
            for r in store.related_stories(
                conn, item_id, history_query(judgement, item), item.filed_at
            )
        ]
    try:
        result = await model_commentary(client, item, source, judgement, policy, related)
    except BudgetExceeded as exc:
        summary.paused = str(exc)
        return
    except Exception as exc:
        summary.comment_failed += 1
        message = f"comment: {type(exc).__name__}: {exc}"[:500]
        await db.write(lambda c: repo.mark_judge_error(c, item_id, message))
        return
    now = datetime.now(UTC)

    def save(c: Any) -> None:
        store.save_commentary(c, item_id, result.commentary, policy.version,
                              result.receipt_id, now)  # fmt: skip
        store.save_guard_flags(c, item_id, "comment", result.flags, now)

    await db.write(save)
    summary.commented += 1


async def _failed(db: Database, item_id: int, exc: Exception, summary: Any) -> None:
    summary.judge_failed += 1
    message = f"{type(exc).__name__}: {exc}"[:500]
    await db.write(lambda c: repo.mark_judge_error(c, item_id, message))


async def _save(
    db: Database,
    item_id: int,
    judgement: Judgement,
    receipt_id: int | None,
    flags: list[Any],
    started: datetime,
    summary: Any,
) -> None:
    def save(c: Any) -> None:
        judgement_id = repo.save_judgement(c, item_id, judgement, started)
        store.set_judgement_receipt(c, judgement_id, receipt_id)
        store.save_guard_flags(c, item_id, "judge", flags, datetime.now(UTC))

    await db.write(save)
    summary.judged += 1
    summary.tiers[judgement.tier.value] += 1


def _judgement_from_row(row: Any) -> Judgement:
    tags = row.tags or {}
    return Judgement(
        importance=row.importance,
        tier=Tier(row.tier),
        hkr=HKR(row.hook, row.knowledge, row.resonance),
        tags=Tags(
            tuple(tags.get("capabilities", ())),
            tuple(tags.get("entities", ())),
            tuple(tags.get("topics", ())),
        ),
        title_en=row.title_en,
        summary_en=row.summary_en,
        why=row.why,
        editor=row.editor,
        policy_version=row.policy_version,
        title_zh=row.title_zh,
        summary_zh=row.summary_zh,
    )


def _policy_text(policy: Policy) -> str:
    try:
        with open(policy.path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return policy.brief
