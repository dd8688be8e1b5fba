"""Wiring of the editor: receipts on the store, and one judge and one comment path for the two
things the editor works on, a story and a multi-source event judged as a whole.

The two differ only in what the stage is called with and where the result is stored, so each
is a `Subject` with those few calls; `judge_one` and `comment_one` are written once. Both
return counts (never mutate a summary); a spent budget is raised as `BudgetExceeded` for the
step to turn into its pause reason. A failed call keeps no judgement and records its reason:
the story or event stays pending and the next pass (or the sweep) tries again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection

from newsdesk.config import Settings
from newsdesk.domain import HKR, Item, Judgement, Source, Tags, Tier, Transcript
from newsdesk.editor import rules_judgement
from newsdesk.editor.comment import RelatedStory, history_query, model_commentary
from newsdesk.editor.episode import pointed_text
from newsdesk.editor.event import (
    EventBasis,
    EventMember,
    event_commentary,
    event_judgement,
    rejudge_due,
    rules_event_judgement,
)
from newsdesk.editor.judge import coverage_bonus, model_judgement
from newsdesk.editor.providers import BudgetExceeded, CallUsage, Limits, LLMProvider, Receipt, Spend
from newsdesk.editor.rules import Release, follow_up_patterns, release_before
from newsdesk.policy import Policy
from newsdesk.store import editor as store
from newsdesk.store import event_judgements as event_store
from newsdesk.store import repo
from newsdesk.store import state as desk_state
from newsdesk.store.db import Database, StorageFailure
from newsdesk.store.event_judgements import EventTodo

log = logging.getLogger(__name__)

__all__ = [
    "BudgetExceeded", "EventSubject", "StorySubject", "comment_one", "earlier_releases",
    "judge_one",
]  # fmt: skip


def earlier_releases(conn: Connection, stories: Iterable[tuple[int, Item]]) -> dict[int, Release]:
    """For the papers among `stories` whose title names a model: the desk's first release story
    naming it, filed before the paper (`editor/rules.py: release_before`). Whether that makes
    the paper a follow-up is the policy's call (`follow_up_days`): both editors take this as
    data, like a secondary report's flag."""
    items = dict(stories)
    asks = {
        item_id: (item.filed_at, patterns)
        for item_id, item in items.items()
        if (patterns := follow_up_patterns(item))
    }
    found = repo.earlier_stories(conn, asks) if asks else {}
    return {
        item_id: release
        for item_id, earlier in found.items()
        if (release := release_before(items[item_id], earlier)) is not None
    }


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

    async def peek(
        self, service: str, purpose: str, model: str, input_hash: str, hold: timedelta
    ) -> Receipt | None:
        now = datetime.now(UTC)
        found = await self.db.read_async(
            lambda c: store.peek_receipt(c, service, purpose, model, input_hash, now, hold)
        )
        return None if found is None else Receipt(*found)

    async def settle(
        self, receipt_id: int, response: dict[str, Any], usage: CallUsage, key: tuple[str, str, str]
    ) -> None:
        row = {"service": key[0], "purpose": key[1], "model": key[2], **asdict(usage)}
        now = datetime.now(UTC)
        held = self._held()

        def write(c: Connection) -> None:
            store.settle_receipt(c, receipt_id, response, now, row)
            _free(c, held)  # the call is over: its slot goes in the same transaction

        await self.db.write(write)
        _freed(held)

    async def fail(self, receipt_id: int, status: str, error: str) -> None:
        now = datetime.now(UTC)
        held = self._held()

        def write(c: Connection) -> None:
            store.fail_receipt(c, receipt_id, status, error, now)
            _free(c, held)

        await self.db.write(write)
        _freed(held)

    def _held(self) -> _Held | None:
        """The fleet slot this task holds on this database, not yet freed: the receipt write
        that ends a call also frees its slot, one round trip instead of two (leaving `slot`
        then writes nothing)."""
        held = _HELD.get()
        return held if held is not None and held.db is self.db and not held.freed else None

    async def spent(self, service: str, since: datetime) -> Spend:
        calls, tokens, cost = await self.db.read_async(lambda c: store.spent(c, service, since))
        return Spend(calls, tokens, cost)

    async def limits(self, service: str) -> dict[str, Limits]:
        rows = await self.db.read_async(lambda c: store.budget_limits(c, service))
        return {window: Limits(*values) for window, values in rows.items()}

    async def on_the_wire(self, service: str, since: datetime, exclude: int | None) -> int:
        """Every process's calls sent and not yet answered (their receipts are pending)."""
        return await self.db.read_async(
            lambda c: store.calls_on_the_wire(c, service, since, exclude)
        )

    def slot(self, service: str, limit: int) -> AbstractAsyncContextManager[None]:
        """One of `limit` call slots of `service` for the whole fleet: on PostgreSQL a lease row
        (`store/state.py`), freed when the call ends or, if its holder died, when the lease
        runs out; on SQLite (one process) nothing beyond the provider's own semaphore."""
        if self.db.is_sqlite:
            return nullcontext()
        return _fleet_slot(self.db, service, limit, LEASE)


# A slot is leased for LEASE and renewed every LEASE / 3 while its call runs, so a killed
# holder's slot is free again within LEASE.
LEASE = timedelta(seconds=30)


@asynccontextmanager
async def _fleet_slot(
    db: Database, service: str, limit: int, lease: timedelta
) -> AsyncIterator[None]:
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    key = None
    while key is None:
        until = datetime.now(UTC) + lease
        key = await db.write(
            lambda c, until=until: desk_state.take_slot(c, service, limit, holder, until)
        )
        if key is None:  # every slot is busy: wait a moment, as a semaphore would
            await asyncio.sleep(0.05 + random.random() * 0.1)

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            until = datetime.now(UTC) + lease
            await db.write(lambda c, until=until: desk_state.renew_slot(c, key, holder, until))

    renewing = asyncio.create_task(renew())
    held = _Held(db, key, holder)
    token = _HELD.set(held)
    try:
        yield
    finally:
        _HELD.reset(token)
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        if not held.freed:  # freed already when the receipt was settled or failed
            await db.write(lambda c: desk_state.free_slot(c, key, holder))


@dataclass
class _Held:
    """The fleet slot the running task holds, for the receipt write that ends its call."""

    db: Database
    key: str
    holder: str
    freed: bool = False


_HELD: ContextVar[_Held | None] = ContextVar("newsdesk_fleet_slot", default=None)


def _free(c: Connection, held: _Held | None) -> None:
    if held is not None:
        desk_state.free_slot(c, held.key, held.holder)


def _freed(held: _Held | None) -> None:
    if held is not None:  # committed: the slot is free
        held.freed = True


def model_editor(db: Database, settings: Settings) -> LLMProvider | None:
    if not (settings.llm_configured and settings.model_calls_enabled):
        return None
    return LLMProvider(settings, StoreReceipts(db))


class Subject(Protocol):
    """What the editor judges or comments: the calls that differ between a story and an event."""

    id: int
    lead_id: int
    item: Item  # the story, or the event's lead
    source: Source
    counted: str  # the count a stored judgement adds to ("judged" or "events_judged")
    failed: str  # the count a failed model judgement adds to
    by_rules: str  # the count a rules judgement given in the model's place adds to

    def rules(self, policy: Policy) -> Judgement: ...
    async def model(self, client: LLMProvider, policy: Policy) -> Any: ...
    def save_judgement(
        self, c: Connection, j: Judgement, receipt: int | None, now: Any
    ) -> None: ...
    def mark_error(self, c: Connection, message: str) -> None: ...
    def same_fallback(self, c: Connection, j: Judgement) -> bool: ...
    def still_due(self, c: Connection) -> bool: ...
    def related(self, c: Connection, judgement: Judgement) -> list[Any]: ...
    async def commentary(self, client: LLMProvider, j: Judgement, policy: Policy,
                         related: list[RelatedStory]) -> Any: ...  # fmt: skip
    def save_commentary(
        self, c: Connection, result: Any, policy: Policy, now: datetime
    ) -> None: ...


@dataclass
class StorySubject:
    id: int
    item: Item
    source: Source
    coverage: int = 1
    transcript: Transcript | None = None  # an episode's: the editor reads a sample of it
    secondary: bool = False  # another source leads its event (repo.secondary_reports)
    seen: int | None = None  # its current judgement when its judging began (None: none)
    released: Release | None = None  # a paper's model's earlier release (earlier_releases)
    counted = "judged"
    failed = "judge_failed"
    by_rules = "judged_by_rules"
    guard_step = ""

    @property
    def lead_id(self) -> int:
        return self.id

    def rules(self, policy: Policy) -> Judgement:
        heard = pointed_text(self.transcript, self.item.body_text)
        return rules_judgement(self.item, self.source, policy, self.coverage, heard,
                               secondary=self.secondary, released=self.released)  # fmt: skip

    async def model(self, client: LLMProvider, policy: Policy) -> Any:
        return await model_judgement(client, self.item, self.source, policy, self.coverage,
                                     transcript=self.transcript, secondary=self.secondary,
                                     released=self.released)  # fmt: skip

    def save_judgement(self, c: Connection, j: Judgement, receipt: int | None, now: Any) -> None:
        repo.save_judgement(c, self.id, j, now, self.coverage, receipt_id=receipt)

    def mark_error(self, c: Connection, message: str) -> None:
        repo.mark_judge_error(c, self.id, message)

    def same_fallback(self, c: Connection, j: Judgement) -> bool:
        return repo.fallback_alike(c, self.id, j)

    def still_due(self, c: Connection) -> bool:
        """No other job stored a judgement since this one began, nor did the text change."""
        return repo.judgement_unchanged(c, self.id, self.seen, self.item.content_hash)

    def related(self, c: Connection, judgement: Judgement) -> list[Any]:
        query = history_query(judgement, self.item)
        return store.related_stories(c, self.id, query, self.item.filed_at)

    async def commentary(
        self, client: LLMProvider, j: Judgement, policy: Policy, related: list[RelatedStory]
    ) -> Any:
        return await model_commentary(client, self.item, self.source, j, policy, related,
                                      transcript=self.transcript)  # fmt: skip

    def save_commentary(self, c: Connection, result: Any, policy: Policy, now: datetime) -> None:
        store.save_commentary(c, self.id, result.commentary, policy.version, result.receipt_id,
                              now)  # fmt: skip


@dataclass
class EventSubject:
    todo: EventTodo
    policy: Policy  # the coverage bonus recorded with the judgement's basis comes from it
    transcript: Transcript | None = None  # the lead's, when the lead is an episode
    released: Release | None = None  # the lead is a paper on a model released before
    counted = "events_judged"
    failed = "events_failed"
    by_rules = "events_by_rules"
    guard_step = "event_"

    @property
    def id(self) -> int:
        return self.todo.event_id

    @property
    def lead_id(self) -> int:
        return self.todo.lead_id

    @property
    def item(self) -> Item:
        return self.todo.lead

    @property
    def source(self) -> Source:
        return self.todo.source

    def members(self) -> list[EventMember]:
        return [EventMember(**m) for m in self.todo.members]

    def rules(self, policy: Policy) -> Judgement:
        heard = pointed_text(self.transcript, self.item.body_text)
        return rules_event_judgement(self.item, self.source, policy, self.todo.sources_count,
                                     heard, self.released)  # fmt: skip

    async def model(self, client: LLMProvider, policy: Policy) -> Any:
        return await event_judgement(client, self.item, self.source, self.members(), policy,
                                     self.todo.sources_count, self.transcript,
                                     self.released)  # fmt: skip

    def save_judgement(self, c: Connection, j: Judgement, receipt: int | None, now: Any) -> None:
        todo = self.todo
        basis = (todo.lead_id, todo.lead_revision, todo.sources_count,
                 coverage_bonus(self.policy, todo.sources_count))  # fmt: skip
        event_store.save_event_judgement(c, todo.event_id, j, basis, receipt, datetime.now(UTC))

    def mark_error(self, c: Connection, message: str) -> None:
        event_store.mark_event_error(c, self.id, message)

    def same_fallback(self, c: Connection, j: Judgement) -> bool:
        return event_store.fallback_alike(c, self.id, j)

    def still_due(self, c: Connection) -> bool:
        """No other job judged the event since its todo was read."""
        judged = self.todo.judged
        return event_store.judgement_unchanged(c, self.id, judged.id if judged else None)

    def related(self, c: Connection, judgement: Judgement) -> list[Any]:
        query = history_query(judgement, self.item)
        return store.related_stories(c, self.lead_id, query, self.item.filed_at,
                                     exclude=self.todo.member_ids)  # fmt: skip

    async def commentary(
        self, client: LLMProvider, j: Judgement, policy: Policy, related: list[RelatedStory]
    ) -> Any:
        return await event_commentary(client, self.item, self.source, j, self.members(), policy,
                                      related, self.transcript)  # fmt: skip

    def save_commentary(self, c: Connection, result: Any, policy: Policy, now: datetime) -> None:
        event_store.save_event_commentary(c, self.id, result.commentary, policy.version,
                                          result.receipt_id, now)  # fmt: skip


def events_due(todos: list[EventTodo], policy: Policy) -> list[EventTodo]:
    """The multi-source events whose judgement is missing or could now come out differently."""
    return [e for e in todos if rejudge_due(policy, _basis(e), _judged_basis(e))]


def _basis(todo: EventTodo) -> EventBasis:
    return EventBasis(todo.lead_id, todo.lead_revision, todo.sources_count)


def _judged_basis(todo: EventTodo) -> EventBasis | None:
    row = todo.judged
    # none yet, or a rules verdict given in the model's place: the event is due
    if row is None or row.lead_item_id is None or row.fallback is not None:
        return None
    return EventBasis(row.lead_item_id, row.lead_revision, row.sources_count)


async def judge_one(
    db: Database, client: LLMProvider | None, policy: Policy, subject: Subject, started: datetime
) -> tuple[Counter[str], Judgement | None]:
    """Judge one story or event: the model editor when there is a client, else the rules.
    Returns the counts and the stored judgement (None when it failed)."""
    counts: Counter[str] = Counter()
    receipt, flags = None, []
    try:
        if client is None:
            judgement = subject.rules(policy)
        else:
            result = await subject.model(client, policy)
            judgement, receipt, flags = result.judgement, result.receipt_id, result.flags
            counts["second_opinions"] += result.second_opinion
    except (BudgetExceeded, StorageFailure):  # every story's problem, not this one's
        raise
    except Exception as exc:  # one bad story must not stop the desk; retried next pass
        counts[subject.failed] += 1
        message = f"{type(exc).__name__}: {exc}"[:500]
        if client is None:  # the rules editor itself failed (a bug): the story stays due
            await db.write(lambda c: subject.mark_error(c, message))
            return counts, None
        # The model failed (unreachable, held after a crash, no usable answer): the rules
        # editor judges in its place, so the story is on the desk now; the reason stays on
        # the story, which keeps it due, and the model judges it on a later pass.
        judgement = replace(subject.rules(policy), fallback=message)
        counts[subject.by_rules] += 1

    def save(c: Connection) -> bool:
        if not subject.still_due(c):
            return False
        if judgement.fallback and subject.same_fallback(c, judgement):
            # judged so by the rules already (the model still fails): only the reason is new
            subject.mark_error(c, judgement.fallback)
            return True
        subject.save_judgement(c, judgement, receipt, started)
        store.save_guard_flags(c, subject.lead_id, f"{subject.guard_step}judge", flags,
                               datetime.now(UTC))  # fmt: skip
        return True

    # Two jobs may judge one subject at once (a sweep's job beside a group's, a stalled job
    # retried beside the one that replaced it): the answer is paid once (receipts), and only
    # the first stores a judgement; the other stores nothing and counts nothing.
    if not await db.write(save):
        return counts, None
    counts[subject.counted] += 1
    if subject.counted == "judged":
        counts[f"tiers.{judgement.tier.value}"] += 1
    return counts, judgement


def wants_commentary(judgement: Judgement | None) -> bool:
    """A model's p1 or featured verdict gets a take and sharp (a rules verdict given in the
    model's place gets them once the model has judged the story)."""
    return (
        judgement is not None
        and not judgement.fallback
        and judgement.tier in (Tier.P1, Tier.FEATURED)
    )


async def comment_one(
    db: Database,
    client: LLMProvider,
    policy: Policy,
    subject: Subject,
    judgement: Judgement,
    judged: Any = None,
) -> Counter[str]:
    """Take and sharp for one story or event, grounded in related earlier stories. `judged`
    (the judgement's row) makes the write conditional: stored only while that judgement is
    the current one and has no commentary yet (another job may have commented it)."""
    counts: Counter[str] = Counter()
    rows = await db.read_async(lambda c: subject.related(c, judgement))
    related = [RelatedStory(r["title"], r["filed_at"], r["summary"], r["source"]) for r in rows]
    try:
        result = await subject.commentary(client, judgement, policy, related)
    except (BudgetExceeded, StorageFailure):
        raise
    except Exception as exc:
        # Not recorded on the story: its judge_error speaks of the judgement only (a reason
        # left there would outlive the judgement it was not about). Commentary still missing
        # is asked for again on the next pass.
        counts["comment_failed"] += 1
        log.warning("comment on %s %s failed: %s: %s", type(subject).__name__, subject.id,
                    type(exc).__name__, exc)  # fmt: skip
        return counts
    now = datetime.now(UTC)

    owner = {"event_id" if isinstance(subject, EventSubject) else "item_id": subject.id}

    def save(c: Connection) -> bool:
        if judged is not None and not store.commentary_due(c, owner, judged):
            return False
        subject.save_commentary(c, result, policy, now)
        store.save_guard_flags(c, subject.lead_id, f"{subject.guard_step}comment", result.flags,
                               now)  # fmt: skip
        return True

    if not await db.write(save):
        return counts
    counts["commented"] += 1
    if isinstance(subject, EventSubject):
        counts["events_commented"] += 1
    return counts


def judgement_from_row(row: Any) -> Judgement:
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
        fallback=row.fallback or "",
    )


def policy_text(policy: Policy) -> str:
    try:
        with open(policy.path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return policy.brief
