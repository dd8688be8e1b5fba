"""Every pipeline step in one shape: `async def step(ctx, ids) -> StepResult`.

A step loads its inputs from the ids it is given (those no longer pending are skipped, so a
step run twice on the same ids changes nothing the second time), calls the pure stage,
persists, and returns a JSON-safe `StepResult`: counts, the ids each next step should take,
and a pause reason. The same functions serve the local pass (`runner/local.py: run_once`, a
loop over `STEPS` in order fed by the `PENDING` queries), the Procrastinate workers (one task
runs one step and defers its `next`) and the commands that run one step by hand.

`StepContext` holds what the steps share: the database, settings and policy, and, opened on
first use, one fetcher, one CPU pool and one model provider.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from newsdesk.collect.fulltext import fetch_full_text, full_text_fetcher, needs_full_text
from newsdesk.collect.http import Fetcher
from newsdesk.config import Settings, desk_now
from newsdesk.editor.providers import BudgetExceeded, LLMProvider, routes_from_settings
from newsdesk.normalize import FreshnessRules
from newsdesk.policy import Policy
from newsdesk.runner.collect import Collected, collect_source, record_crash
from newsdesk.runner.cpu import WAITING_PER_WORKER, CpuPool
from newsdesk.runner.editor import (
    EventSubject,
    StoreReceipts,
    StorySubject,
    comment_one,
    earlier_releases,
    events_due,
    judge_one,
    judgement_from_row,
    policy_text,
    wants_commentary,
)
from newsdesk.runner.embed import PER_PASS as EMBED_PER_PASS
from newsdesk.runner.embed import (
    current_model,
    embed_pending,
    endpoint_embedder,
    fold_reposts,
    local_embedder,
)
from newsdesk.runner.events import group_pending, refresh_heat
from newsdesk.runner.media import PER_PASS as TRANSCRIPTS_PER_PASS
from newsdesk.runner.media import caption_source, fetch_transcripts
from newsdesk.runner.outputs import after_pass
from newsdesk.runner.relations import grouping_model
from newsdesk.store import editor as editor_store
from newsdesk.store import event_judgements as event_store
from newsdesk.store import events as events_store
from newsdesk.store import media as media_store
from newsdesk.store import repo
from newsdesk.store import sources as source_store
from newsdesk.store import vectors as vectors_store
from newsdesk.store.db import Database, StorageFailure

log = logging.getLogger(__name__)
Id = int | str
T = TypeVar("T")
CHUNK = 500  # ids per IN (...) query: SQLite caps bound parameters
FULL_TEXT_PER_PASS = 40  # stories the local pass tries; the rest wait for the next pass
FULL_TEXT_CONCURRENCY = 4
FULL_TEXT_SECONDS = 90.0  # the step's whole budget: it never holds the pipeline longer


class Progress(Protocol):
    """What the CLI shows while steps run; the steps work without one."""

    def start(self, stage: str, total: int) -> None: ...
    def advance(self, stage: str, n: int = 1) -> None: ...


class _Quiet:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, n: int = 1) -> None:
        pass


@dataclass
class StepResult:
    """What one step did. Counts use the `RunSummary` names ("judged", "tiers.p1", …)."""

    step: str
    counts: Counter[str] = field(default_factory=Counter)
    failed: dict[str, str] = field(default_factory=dict)  # source id -> error code
    next: dict[str, list[Id]] = field(default_factory=dict)
    paused: str = ""  # why a model step stopped early (a spent budget), "" when it did not

    def send(self, step: str, ids: Iterable[Id]) -> None:
        """Hand ids to a later step, each once, in order."""
        queue = self.next.setdefault(step, [])
        seen = set(queue)
        queue.extend(i for i in ids if not (i in seen or seen.add(i)))  # type: ignore[func-returns-value]

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "counts": dict(self.counts),
            "failed": dict(self.failed),
            "next": {k: list(v) for k, v in self.next.items() if v},
            "paused": self.paused,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepResult:
        return cls(
            data["step"],
            Counter(data.get("counts", {})),
            dict(data.get("failed", {})),
            {k: list(v) for k, v in data.get("next", {}).items()},
            data.get("paused", ""),
        )


class _Shared:
    """The open resources of a context and of every context made from it by `for_task`."""

    def __init__(self) -> None:
        self.stack = AsyncExitStack()
        self.fetcher: Fetcher | None = None
        self.pool: CpuPool | None = None
        self.in_flight: asyncio.Semaphore | None = None
        self.provider: LLMProvider | None = None
        self.provider_made = False
        self.recorded: set[str] = set()  # policy versions this process has recorded


class StepContext:
    """What every step shares. Open resources (fetcher, CPU pool, model provider) are made on
    first use and closed by `close()` (or leaving `async with`)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        policy: Policy,
        *,
        demo: bool = False,
        progress: Progress | None = None,
        started: datetime | None = None,
    ) -> None:
        self.db, self.settings, self.policy, self.demo = db, settings, policy, demo
        self.progress: Progress = progress or _Quiet()
        self.started = started or datetime.now(UTC)
        self.paused = ""  # set by the first model step that meets a spent budget
        self._shared = _Shared()
        # NEWSDESK_CONCURRENCY fetches at once; a fetched source gives its slot to the next
        # fetch while it waits for a CPU worker, and a few sources per worker may wait, so the
        # network and the CPU overlap and the bodies held stay bounded
        self.fetch_slots = asyncio.Semaphore(settings.concurrency)
        # twice the provider's limit in model tasks, so the wire stays full while some wait on
        # the database; the provider itself never has more than `llm_concurrency` calls out
        self.model_slots = asyncio.Semaphore(2 * settings.llm_concurrency)

    def for_task(self) -> StepContext:
        """A context for one task of a long-lived worker: its own start time and pause state,
        the worker's fetcher, CPU pool, model provider and limits."""
        child = copy.copy(self)
        child.started, child.paused = datetime.now(UTC), ""
        return child

    async def __aenter__(self) -> StepContext:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        shared = self._shared
        if shared.provider is not None:
            await shared.provider.close()
        shared.provider, shared.provider_made = None, False
        await self.close_collect()

    async def close_collect(self) -> None:
        """Close the fetcher and the CPU pool (their processes); reopened on next use."""
        shared = self._shared
        await shared.stack.aclose()
        shared.stack = AsyncExitStack()
        shared.fetcher, shared.pool, shared.in_flight = None, None, None

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """A read off the event loop (a thread with a pooled connection)."""
        return await self.db.read_async(fn)

    async def load(self, fn: Callable[[Connection, list[Any]], list[T]], ids: list[Any]) -> list[T]:
        """fn(conn, chunk) over the ids in chunks, results concatenated."""
        out: list[T] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            out.extend(await self.read(lambda c, chunk=chunk: fn(c, chunk)))
        return out

    async def fetcher(self) -> Fetcher:
        shared = self._shared
        if shared.fetcher is None:
            shared.fetcher = await shared.stack.enter_async_context(
                Fetcher(
                    allow_private=self.settings.allow_private_urls,
                    total_timeout=self.settings.fetch_timeout_seconds,
                )
            )
        return shared.fetcher

    async def pool(self) -> CpuPool:
        shared = self._shared
        if shared.pool is None:
            s = self.settings
            local_model = s.embed_enabled and not s.embed_model  # the pool's workers embed
            pool = CpuPool(warm_embedder=local_model)
            shared.pool = await shared.stack.enter_async_context(pool)
        return shared.pool

    async def in_flight(self) -> asyncio.Semaphore:
        shared = self._shared
        if shared.in_flight is None:
            workers = (await self.pool()).workers
            shared.in_flight = asyncio.Semaphore(
                self.settings.concurrency + WAITING_PER_WORKER * workers
            )
        return shared.in_flight

    def provider(self) -> LLMProvider | None:
        """The one model provider of this context (receipts and budgets on the store), or None
        when model calls are off or no route is configured."""
        shared = self._shared
        if not shared.provider_made:
            shared.provider_made = True
            if self.settings.model_calls_enabled and routes_from_settings(self.settings):
                shared.provider = LLMProvider(self.settings, StoreReceipts(self.db))
        return shared.provider

    def opened_provider(self) -> LLMProvider | None:
        """The provider if a step has made one (its tally and breakers tell how the model
        did), without making one."""
        return self._shared.provider

    def editor(self) -> LLMProvider | None:
        """The model editor when one is configured; None means the rules editor judges."""
        if not self.settings.llm_configured:
            return None
        return self.provider()


def freshness_rules(policy: Policy, demo: bool) -> FreshnessRules:
    numbers = policy["freshness"]
    return FreshnessRules(
        backfill_after_hours=int(numbers["backfill_after_hours"]),
        first_import_max_items=int(numbers["first_import_max_items"]),
        # The demo is a snapshot of 2025; a 12-month window would hide all of it.
        first_import_window_days=None if demo else int(numbers["first_import_window_days"]),
        future_tolerance_minutes=int(numbers["future_tolerance_minutes"]),
    )


def _in_order(rows: list[T], ids: list[Any], key: Callable[[T], Any]) -> list[T]:
    """Rows in the order of the ids given (the caller's priority: live news first)."""
    rank = {i: n for n, i in enumerate(ids)}
    return sorted(rows, key=lambda r: rank.get(key(r), len(rank)))


# ---- the steps ------------------------------------------------------------------------------


async def collect(ctx: StepContext, source_ids: list[Any]) -> StepResult:
    """Fetch, parse, normalise and store the given sources (enabled ones only)."""
    result = StepResult("collect")
    ids = [str(i) for i in source_ids]
    rows = _in_order(await ctx.load(repo.enabled_source_rows, ids), ids, lambda r: r.id)
    result.counts["sources"] = len(rows)
    if not ctx.settings.collect_enabled or not rows:
        return result
    rules = freshness_rules(ctx.policy, ctx.demo)
    fetcher, pool, in_flight = await ctx.fetcher(), await ctx.pool(), await ctx.in_flight()
    ctx.progress.start("collect", len(rows))

    async def one(row: Any) -> Collected:
        async with in_flight:
            try:
                return await collect_source(ctx.db, fetcher, ctx.fetch_slots, pool, row, rules)
            except StorageFailure:  # the database's problem, not this source's: stop the pass
                raise
            except Exception as exc:  # a bug one source's bytes found: that source's
                return await record_crash(ctx.db, row, exc)  # error, not the pass's
            finally:
                ctx.progress.advance("collect")

    for row, done in zip(rows, await asyncio.gather(*(one(r) for r in rows)), strict=True):
        result.counts.update(done.counts)
        if done.error_code:
            result.failed[row.id] = done.error_code
        result.send("full_text", done.changed)
    return result


async def full_text(ctx: StepContext, item_ids: list[Any]) -> StepResult:
    """Complete teaser bodies from the story's page, bounded in time; then embed them all."""
    result = StepResult("full_text")
    ids = [int(i) for i in item_ids]
    result.send("transcripts", ids)
    s = ctx.settings
    if not (s.collect_enabled and s.fulltext_enabled and not ctx.demo) or not ids:
        return result  # the demo is offline: its stories link to real sites
    rows = await ctx.load(lambda c, chunk: source_store.items_for_full_text(c, len(chunk), chunk),
                          ids)  # fmt: skip
    short = []
    for row in _in_order(rows, ids, lambda r: r.id):
        if needs_full_text(row.body_text):
            short.append(row)
        else:
            await ctx.db.write(lambda c, i=row.id: source_store.save_full_text(c, i, "feed"))
            result.counts["full_text.feed"] += 1
    if not short:
        return result
    limit = asyncio.Semaphore(FULL_TEXT_CONCURRENCY)
    async with full_text_fetcher(s.allow_private_urls) as fetcher:

        async def one(row: Any) -> None:
            async with limit:
                found = await fetch_full_text(fetcher, row.url)
            item_id = row.id
            await ctx.db.write(
                lambda c: source_store.save_full_text(c, item_id, found.status, found.text,
                                                      found.html)
            )  # fmt: skip
            result.counts[f"full_text.{found.status}"] += 1

        tasks = [asyncio.create_task(one(r)) for r in short]
        _finished, unfinished = await asyncio.wait(tasks, timeout=FULL_TEXT_SECONDS)
        for task in unfinished:  # left with no status: tried again later
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
    return result


def _transcripts_on(ctx: StepContext) -> bool:
    s = ctx.settings
    return s.collect_enabled and s.transcripts_enabled


async def transcripts(ctx: StepContext, item_ids: list[Any]) -> StepResult:
    """Fetch the published transcript and chapters of the given stories with media (and, when
    the operator turned them on, YouTube's captions); then embed them all, transcript in view.
    The demo runs it too: its podcast's transcript is one of the demo server's files."""
    result = StepResult("transcripts")
    ids = [int(i) for i in item_ids]
    result.send("embed", ids)
    if not _transcripts_on(ctx) or not ids:
        return result
    todo = await ctx.load(
        lambda c, chunk: media_store.pending(c, datetime.now(UTC), len(chunk), chunk), ids
    )
    todo = _in_order(todo, ids, lambda r: r.item_id)[:TRANSCRIPTS_PER_PASS]
    result.counts.update(
        await fetch_transcripts(ctx.db, ctx.settings, todo, caption_source(ctx.settings))
    )
    return result


async def embed(ctx: StepContext, item_ids: list[Any]) -> StepResult:
    """Give the stories a vector of the current embedder (the bundled model in the CPU pool,
    or the configured endpoint through the receipted client); then group them all. A failed
    endpoint loses no story: grouping goes on with the vectors there are."""
    result = StepResult("embed")
    ids = [int(i) for i in item_ids]
    result.send("group", ids)
    s = ctx.settings
    if current_model(s) is None or not ids:
        return result
    if s.embed_model:
        provider = ctx.provider() if s.model_calls_enabled else None
        if provider is None:
            return result  # model calls are off: nothing leaves the process
        embedder = endpoint_embedder(s, provider)
        parallel = 2
    else:
        pool = await ctx.pool()
        embedder, parallel = local_embedder(pool), pool.workers
    try:
        result.counts["embedded"] = await embed_pending(
            ctx.db, embedder, ctx.started, ids=ids, batch=s.embed_batch_size,
            limit=max(len(ids), 1), progress=ctx.progress, parallel=parallel,
        )  # fmt: skip
        # one source's re-posts under a new URL join the story they repeat
        for outcome, n in (await fold_reposts(ctx.db, embedder.name, ids, ctx.started)).items():
            result.counts[f"outcomes.{outcome}"] += n
            result.counts["outcomes.new"] -= n
    except BudgetExceeded as exc:
        result.paused = str(exc)
    except StorageFailure:
        raise  # the database itself failed: every story's problem, the command says so
    except Exception as exc:  # an endpoint's bad answer or outage: the pass goes on
        log.warning("embedding failed: %s", exc)
        result.counts["embed_failed"] += 1
    return result


async def group(ctx: StepContext, item_ids: list[Any]) -> StepResult:
    """Place the given stories not yet in an event; then judge them and their events."""
    result = StepResult("group")
    ids = [int(i) for i in item_ids]
    if not ids:
        return result
    # With a model configured it also judges how each story relates to its candidates.
    vectors = current_model(ctx.settings)
    done = await group_pending(
        ctx.db, ctx.started, ctx.progress, grouping_model(ctx.editor(), ctx.settings), ids=ids,
        vectors_model=vectors[0] if vectors else None,
    )  # fmt: skip
    result.counts.update(grouped=done.placed, events_created=done.created,
                         regrouped=len(done.regrouped))  # fmt: skip
    again: list[int] = []
    touched: list[int] = []
    if done.regrouped:
        # Stories and events judged with a coverage the regrouping changed (those placed again,
        # the events they left or joined and those events' other reports) are judged again; an
        # unchanged question is answered from its receipt.
        touched = sorted({*done.left, *await ctx.load(events_store.events_of, done.regrouped)})
        again = await ctx.load(events_store.members_of, touched)
        note = "regrouped: the sources it was judged with changed"
        await ctx.db.write(lambda c: repo.judge_again_if_coverage_changed(c, again, note))
        await ctx.db.write(lambda c: event_store.forget_if_coverage_changed(c, touched))
    result.send("judge", [*ids, *again])
    result.send("judge_events", [*await ctx.load(events_store.events_of, ids), *touched])
    return result


async def judge(ctx: StepContext, item_ids: list[Any]) -> StepResult:
    """Judge the given stories that have no current judgement, in the order given."""
    result = StepResult("judge")
    ids = [int(i) for i in item_ids]
    client, policy = ctx.editor(), ctx.policy
    if policy.version not in ctx._shared.recorded:  # one write per version and process,
        await ctx.db.write(lambda c: editor_store.record_policy_version(  # not one per job
            c, policy.version, policy_text(policy), ctx.started))  # fmt: skip
        ctx._shared.recorded.add(policy.version)
    if not ids or (client is not None and ctx.paused):
        result.paused = ctx.paused if ids else ""
        return result
    rows = await ctx.load(lambda c, chunk: repo.judge_todo(c, len(chunk), chunk), ids)
    seen = {item_id: judgement_id for item_id, _, _, judgement_id in rows}
    todo = _in_order([row[:3] for row in rows], ids, lambda r: r[0])
    if _transcripts_on(ctx):  # an episode is judged with its transcript: wait for the look
        episodes = [i for i, item, _ in todo if item.media is not None]
        waiting = set().union(*await ctx.load(
            lambda c, chunk: [media_store.awaiting_transcript(c, chunk)], episodes))  # fmt: skip
        todo = [row for row in todo if row[0] not in waiting]
        if waiting:
            result.counts["waiting_for_transcript"] = len(waiting)
    todo_ids = [item_id for item_id, _, _ in todo]
    coverage: dict[int, int] = {}
    for part in await ctx.load(lambda c, chunk: [repo.coverage_counts(c, chunk)], todo_ids):
        coverage |= part
    # another source leads their event: judged, never featured on their own (policy/rules.py)
    secondary = await ctx.read(lambda c: repo.secondary_reports(c, todo_ids))
    # a paper on a model whose release the desk carried before: a follow-up under the policy
    released = await ctx.read(lambda c: earlier_releases(c, [(i, item) for i, item, _ in todo]))
    in_events = await ctx.read(lambda c: event_store.multi_source_item_ids(c, todo_ids))
    heard = await _transcripts(ctx, [i for i, item, _ in todo if item.media is not None])
    ctx.progress.start("judge", len(todo))

    async def one(item_id: int, item: Any, source: Any) -> None:
        async with ctx.model_slots:
            if not ctx.paused:
                subject = StorySubject(item_id, item, source, coverage.get(item_id, 1),
                                       heard.get(item_id), item_id in secondary,
                                       seen.get(item_id), released.get(item_id))  # fmt: skip
                try:
                    counts, judgement = await judge_one(ctx.db, client, policy, subject,
                                                        ctx.started)  # fmt: skip
                except BudgetExceeded as exc:  # the rest wait until the budget allows
                    ctx.paused = str(exc)
                else:
                    result.counts.update(counts)
                    # a report of a multi-source event gets the event's commentary instead
                    wanted = client is not None and wants_commentary(judgement)
                    if wanted and item_id not in in_events:
                        result.send("comment", [item_id])
        ctx.progress.advance("judge")

    await asyncio.gather(*(one(*row) for row in todo))
    result.paused = ctx.paused
    # Events take their lead's judged title.
    if todo_ids:
        await ctx.db.write(lambda c: events_store.refresh_titles(c, todo_ids, ctx.started))
    return result


async def judge_events(ctx: StepContext, event_ids: list[Any]) -> StepResult:
    """Judge the given multi-source events as a whole, when their judgement is missing or could
    now come out differently (another lead, a coverage step)."""
    result = StepResult("judge_events")
    ids = [int(i) for i in event_ids]
    client = ctx.editor()
    if not ids or (client is not None and ctx.paused):
        result.paused = ctx.paused if ids else ""
        return result
    todos = await ctx.load(lambda c, chunk: event_store.events_to_judge(c, len(chunk), chunk), ids)
    due = events_due(_in_order(todos, ids, lambda e: e.event_id), ctx.policy)
    heard = await _transcripts(ctx, [e.lead_id for e in due if e.lead.media is not None])
    released = await ctx.read(lambda c: earlier_releases(c, [(e.lead_id, e.lead) for e in due]))
    ctx.progress.start("events", len(due))

    async def one(todo: Any) -> None:
        async with ctx.model_slots:
            if not ctx.paused:
                subject = EventSubject(todo, ctx.policy, heard.get(todo.lead_id),
                                       released.get(todo.lead_id))  # fmt: skip
                try:
                    counts, judgement = await judge_one(
                        ctx.db, client, ctx.policy, subject, ctx.started
                    )
                except BudgetExceeded as exc:
                    ctx.paused = str(exc)
                else:
                    result.counts.update(counts)
                    if client is not None and wants_commentary(judgement):
                        result.send("comment_events", [todo.event_id])
        ctx.progress.advance("events")

    await asyncio.gather(*(one(t) for t in due))
    result.paused = ctx.paused
    return result


async def _transcripts(ctx: StepContext, ids: list[int]) -> dict[int, Any]:
    """The stored transcripts of these episodes (the editor reads a sample of each)."""
    pairs = await ctx.load(lambda c, chunk: list(media_store.transcripts_of(c, chunk).items()), ids)
    return dict(pairs)


async def comment(ctx: StepContext, item_ids: list[Any]) -> StepResult:
    """Take and sharp for the given model-judged p1 and featured stories that have none."""

    def load(c: Connection, chunk: list[Any]) -> list[tuple[Any, Any]]:
        rows = editor_store.items_to_comment(c, len(chunk), chunk)
        heard = media_store.transcripts_of(c, [r[0] for r in rows if r[1].media is not None])
        return [(StorySubject(i, item, source, transcript=heard.get(i)), jrow)
                for i, item, source, jrow in rows]  # fmt: skip

    return await _comment_each(ctx, StepResult("comment"), item_ids, load)


async def comment_events(ctx: StepContext, event_ids: list[Any]) -> StepResult:
    """One take and sharp for each given model-judged p1 or featured event that has none."""

    def load(c: Connection, chunk: list[Any]) -> list[tuple[Any, Any]]:
        rows = event_store.events_to_comment(c, len(chunk), chunk)
        leads = [todo.lead_id for todo, _ in rows if todo.lead.media is not None]
        heard = media_store.transcripts_of(c, leads)
        return [(EventSubject(todo, ctx.policy, heard.get(todo.lead_id)), jrow)
                for todo, jrow in rows]  # fmt: skip

    return await _comment_each(ctx, StepResult("comment_events"), event_ids, load)


async def _comment_each(
    ctx: StepContext,
    result: StepResult,
    given: list[Any],
    load: Callable[[Connection, list[Any]], list[tuple[Any, Any]]],
) -> StepResult:
    """Comment each (subject, judgement row) `load` finds among the ids, in the ids' order."""
    ids = [int(i) for i in given]
    client = ctx.editor()
    if client is None or not ids or ctx.paused:
        result.paused = ctx.paused if ids and client is not None else ""
        return result
    todo = _in_order(await ctx.load(load, ids), ids, lambda r: r[0].id)
    ctx.progress.start("comment", len(todo))

    async def one(subject: Any, jrow: Any) -> None:
        async with ctx.model_slots:
            if not ctx.paused:
                try:
                    result.counts.update(await comment_one(
                        ctx.db, client, ctx.policy, subject, judgement_from_row(jrow),
                        judged=jrow))  # fmt: skip
                except BudgetExceeded as exc:
                    ctx.paused = str(exc)
        ctx.progress.advance("comment")

    await asyncio.gather(*(one(*row) for row in todo))
    result.paused = ctx.paused
    return result


async def outputs(ctx: StepContext, ids: list[Any]) -> StepResult:
    """Heat of recent events, then due reports and notifications; never fails the pass.
    Takes no ids: it works on whatever the other steps stored."""
    result = StepResult("outputs")
    # The demo reads its 2025 snapshot on the snapshot's clock (config.DEMO_AS_OF): heat and
    # the daily brief of its last day; notifications keep the real clock.
    clock = desk_now(ctx.demo)
    result.counts["heated"] = await refresh_heat(ctx.db, clock, backfill_counts=ctx.demo)
    await after_pass(ctx.db, ctx.settings, datetime.now(UTC), provider=ctx.provider(),
                     reports_at=clock if ctx.demo else None)  # fmt: skip
    return result


Step = Callable[[StepContext, list[Any]], Awaitable[StepResult]]

# In the order the local pass runs them: group before judge, so the editor knows how many
# sources carry each story (the "cluster first" order of the design's cost goals).
STEPS: dict[str, Step] = {
    "collect": collect,
    "full_text": full_text,
    # after full text, so an episode's show notes are complete; before embedding, so its
    # vector sees the chapters and the transcript's opening
    "transcripts": transcripts,
    "embed": embed,
    "group": group,
    "judge": judge,
    "judge_events": judge_events,
    "comment": comment,
    "comment_events": comment_events,
    "outputs": outputs,
}


# ---- what is pending: the ids each step would take now ---------------------------------------


def _due_sources(c: Connection, ctx: StepContext) -> list[Id]:
    return [r.id for r in repo.due_source_rows(c, datetime.now(UTC))]


def _full_text(c: Connection, ctx: StepContext) -> list[Id]:
    s = ctx.settings
    if not (s.collect_enabled and s.fulltext_enabled and not ctx.demo):
        return []
    return [r.id for r in source_store.items_for_full_text(c, FULL_TEXT_PER_PASS)]


def _no_transcript(c: Connection, ctx: StepContext) -> list[Id]:
    if not _transcripts_on(ctx):
        return []
    return [r.item_id for r in media_store.pending(c, datetime.now(UTC), TRANSCRIPTS_PER_PASS)]


def _unembedded(c: Connection, ctx: StepContext) -> list[Id]:
    model = current_model(ctx.settings)
    if model is None:
        return []
    return [r.item_id for r in vectors_store.pending(c, model[0], EMBED_PER_PASS)]


def _ungrouped(c: Connection, ctx: StepContext) -> list[Id]:
    ids: list[Id] = [r.item_id for r in events_store.ungrouped_refs(c)]
    if ctx.settings.llm_configured and ctx.settings.model_calls_enabled:
        # rules placements made in the model's place: the model is asked about them again
        ids += [f.ref.item_id for f in events_store.fallback_placements(c)]
    return ids


def _unjudged(c: Connection, ctx: StepContext) -> list[Id]:
    return [item_id for item_id, _, _ in repo.items_to_judge(c, limit=100_000)]


def _events_due(c: Connection, ctx: StepContext) -> list[Id]:
    return [e.event_id for e in events_due(event_store.events_to_judge(c), ctx.policy)]


def _uncommented(c: Connection, ctx: StepContext) -> list[Id]:
    return [item_id for item_id, *_ in editor_store.items_to_comment(c)]


def _events_uncommented(c: Connection, ctx: StepContext) -> list[Id]:
    return [todo.event_id for todo, _ in event_store.events_to_comment(c)]


def _nothing(c: Connection, ctx: StepContext) -> list[Id]:
    return []


# What each step would take now: the local pass feeds its steps from these, and the workers'
# periodic sweep defers whatever a lost message left behind.
PENDING: dict[str, Callable[[Connection, StepContext], list[Id]]] = {
    "collect": _due_sources,
    "full_text": _full_text,
    "transcripts": _no_transcript,
    "embed": _unembedded,
    "group": _ungrouped,
    "judge": _unjudged,
    "judge_events": _events_due,
    "comment": _uncommented,
    "comment_events": _events_uncommented,
    "outputs": _nothing,
}


async def pending(ctx: StepContext, step: str) -> list[Id]:
    return await ctx.read(lambda c: PENDING[step](c, ctx))
