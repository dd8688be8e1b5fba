"""The local runner: one pass over every stage, in-process, with bounded concurrency.

`run_once` is the whole pipeline read top to bottom. Stages are plain async functions over
domain objects; this module is the only place that hands their results to the store, so each
step is durable and idempotent: a second pass over the same feeds stores nothing new, a story
is judged once per change, and grouping only looks at stories not yet in an event.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from newsdesk.collect.cadence import next_poll_at
from newsdesk.collect.http import Fetcher
from newsdesk.collect.politeness import poll_floor
from newsdesk.config import Settings
from newsdesk.domain import Item, Source
from newsdesk.normalize import FreshnessRules
from newsdesk.normalize.stage import normalize_batch
from newsdesk.policy import Policy
from newsdesk.runner.cpu import WAITING_PER_WORKER, CpuPool, digest_body
from newsdesk.runner.editor import comment_step, judge_step, model_editor
from newsdesk.runner.events import after_judging, group_pending
from newsdesk.runner.fulltext import run_full_text
from newsdesk.runner.outputs import after_pass
from newsdesk.runner.relations import grouping_model
from newsdesk.runner.source_tests import run_source_tests
from newsdesk.sources.kinds import poll_url, pushed_entry
from newsdesk.store import repo
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What the CLI shows while a pass runs; the runner works without one."""

    def start(self, stage: str, total: int) -> None: ...
    def advance(self, stage: str, n: int = 1) -> None: ...


class _Quiet:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, stage: str, n: int = 1) -> None:
        pass


@dataclass
class RunSummary:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # source id -> error code
    entries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # new, revision, discovery, unchanged
    judged: int = 0
    judge_failed: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    grouped: int = 0
    events_created: int = 0
    full_text: Counter[str] = field(default_factory=Counter)  # ok, unconfirmed, feed
    second_opinions: int = 0
    commented: int = 0  # stories' and events' commentaries
    comment_failed: int = 0
    events_judged: int = 0  # multi-source events judged as a whole
    events_commented: int = 0
    events_failed: int = 0
    paused: str = ""  # why the model steps stopped early (a spent budget), "" when they did not
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "failed": self.failed,
            "entries": self.entries,
            "outcomes": dict(self.outcomes),
            "judged": self.judged,
            "judge_failed": self.judge_failed,
            "tiers": dict(self.tiers),
            "grouped": self.grouped,
            "events_created": self.events_created,
            "full_text": dict(self.full_text),
            "second_opinions": self.second_opinions,
            "commented": self.commented,
            "comment_failed": self.comment_failed,
            "events_judged": self.events_judged,
            "events_commented": self.events_commented,
            "events_failed": self.events_failed,
            "paused": self.paused,
            "seconds": round(self.seconds, 2),
        }


def freshness_rules(policy: Policy, demo: bool) -> FreshnessRules:
    numbers = policy["freshness"]
    return FreshnessRules(
        backfill_after_hours=int(numbers["backfill_after_hours"]),
        first_import_max_items=int(numbers["first_import_max_items"]),
        # The demo is a snapshot of 2025; a 12-month window would hide all of it.
        first_import_window_days=None if demo else int(numbers["first_import_window_days"]),
        future_tolerance_minutes=int(numbers["future_tolerance_minutes"]),
    )


async def run_once(
    db: Database,
    settings: Settings,
    policy: Policy,
    *,
    catalog: list[Source] | None = None,
    demo: bool = False,
    only_due: bool = False,
    progress: Progress | None = None,
) -> RunSummary:
    started = datetime.now(UTC)
    progress = progress or _Quiet()
    summary = RunSummary()
    run_id = await db.write(lambda c: repo.start_pipeline_run(c, started))

    # 1. The catalog file is the operator's word on what to follow; health rows are kept.
    if catalog is not None:
        await db.write(lambda c: repo.upsert_sources(c, catalog, started))
    # 1b. Sources an editor added in the admin pages get their one test fetch (never a page's).
    await run_source_tests(db, settings)

    # 2. Collect + normalize, all sources at once under one concurrency bound. A failing
    #    source records its error and never stops the others.
    with db.read() as conn:
        rows = (
            repo.due_source_rows(conn, started) if only_due else repo.list_source_rows(conn, True)
        )
    summary.sources = len(rows)
    if settings.collect_enabled and rows:
        rules = freshness_rules(policy, demo)
        progress.start("collect", len(rows))
        # the loop fetches and writes; parsing and normalising run in worker processes
        async with (
            Fetcher(
                allow_private=settings.allow_private_urls,
                total_timeout=settings.fetch_timeout_seconds,
            ) as fetcher,
            CpuPool() as pool,
        ):
            # NEWSDESK_CONCURRENCY fetches at once; a fetched source gives its slot to the next
            # fetch while it waits for a worker, and a few sources per worker may wait, so the
            # network and the CPU overlap and the bodies held stay bounded
            fetch_slots = asyncio.Semaphore(settings.concurrency)
            in_flight = asyncio.Semaphore(settings.concurrency + WAITING_PER_WORKER * pool.workers)

            async def collect_one(row: Any) -> None:
                async with in_flight:
                    try:
                        await _collect_source(db, fetcher, fetch_slots, pool, row, rules, summary)
                    except Exception as exc:  # a bug one source's bytes found: that source's
                        await _record_crash(db, row, exc, summary)  # error, not the pass's
                progress.advance("collect")

            await asyncio.gather(*(collect_one(r) for r in rows))

    # 2b. Full text for teasers: its own step, bounded in time, so a slow page delays no
    #     other source; whatever it does not reach this pass waits for the next one. The
    #     demo is offline: its stories link to real sites.
    if settings.collect_enabled and settings.fulltext_enabled and not demo:
        summary.full_text.update(await run_full_text(db, settings))

    # 3. Group before judging, so the editor knows how many sources carry each story.
    #    With a model configured it also judges how each story relates to its candidates.
    relations = model_editor(db, settings)
    try:
        summary.grouped, summary.events_created = await group_pending(
            db, started, progress, grouping_model(relations, settings)
        )
    finally:
        if relations is not None:
            await relations.close()

    # 4. Judge every story without a current judgement: live news first, then backfill.
    with db.read() as conn:
        todo = repo.items_to_judge(conn, limit=100_000)
        coverage = repo.coverage_counts(conn, [item_id for item_id, _, _ in todo])
    #    The model editor judges when one is configured; the rules editor is the fallback.
    await judge_step(db, settings, policy, todo, coverage, summary, progress, started)

    # Events take their lead's judged title, and heat follows what landed (runner/events.py).
    await after_judging(db, [item_id for item_id, _, _ in todo], started)

    # 5. Comment: take and sharp for the p1 and featured stories the model judged.
    await comment_step(db, settings, policy, summary, progress)

    # 6. Publish needs no step: pages and feeds read what the stages wrote. Due reports are
    #    composed and notifications delivered here, bounded and never failing the pass.
    await after_pass(db, settings)
    finished = datetime.now(UTC)
    summary.seconds = (finished - started).total_seconds()
    stats = summary.as_dict()
    await db.write(lambda c: repo.finish_pipeline_run(c, run_id, finished, "ok", stats))
    return summary


async def _record_crash(db: Database, row: Any, exc: Exception, summary: RunSummary) -> None:
    """Every known failure has its code; this is for the ones nobody foresaw. The traceback
    goes to the log for whoever fixes it, the source backs off like any failing source."""
    log.exception("collecting %s failed unexpectedly", row.id)
    now = datetime.now(UTC)
    failures = row.consecutive_failures + 1
    message = f"unexpected {type(exc).__name__}: {exc}"[:500]
    next_at = next_poll_at(now, cadence_min=row.cadence_min, cadence_max=row.cadence_max,
                           items_7d=0, failures=failures, floor=None)  # fmt: skip
    await db.write(
        lambda c: repo.record_fetch(c, row.id, now, now, http_status=None,
                                    error_code="internal_error", error_message=message, nbytes=0,
                                    entries=0, new_items=0, etag=row.etag,
                                    last_modified=row.last_modified, next_poll_at=next_at)
    )  # fmt: skip
    summary.failed[row.id] = "internal_error"


async def _collect_source(
    db: Database,
    fetcher: Fetcher,
    fetch_slots: asyncio.Semaphore,
    pool: CpuPool,
    row: Any,
    rules: FreshnessRules,
    summary: RunSummary,
) -> None:
    source = repo.source_from_row(row)
    started = datetime.now(UTC)
    error_code = error_message = None
    status: int | None = None
    nbytes = entries_count = new_items = 0
    etag, last_modified, ttl, headers = None, None, None, None
    not_modified = False
    # a pushed batch is live news, not a feed's history: no first-import cap
    first_import = not row.first_import_done and source.kind != "push"
    items: list[Item] = []
    if source.kind == "push":
        # pushed entries wait in the database (POST /api/ingest); polling takes them
        payloads = await db.write(lambda c: source_store.take_pushed(c, source.id, started))
        entries = [pushed_entry(source.id, p) for p in payloads]
        entries_count = len(entries)
        items = await pool.run(normalize_batch, entries, source, started, rules)
    else:
        async with fetch_slots:
            result = await fetcher.fetch(
                poll_url(source, started), etag=row.etag, last_modified=row.last_modified
            )
        error_code, error_message = result.error_code, result.error_message
        status, nbytes, headers = result.status, len(result.body), result.headers
        etag, last_modified, not_modified = result.etag, result.last_modified, result.not_modified

        async def fetch_page(url: str) -> bytes | None:
            page = await fetcher.fetch(url)
            return page.body if page.ok else None

        if result.ok and not result.not_modified:
            digest = await digest_body(
                pool,
                source,
                result.body,
                result.final_url or source.url,
                started,
                rules,
                first_import,
                fetch_page,
            )
            error_code = digest.error_code or error_code
            error_message = digest.error_message or error_message
            items, ttl, entries_count = digest.items, digest.ttl_minutes, digest.entries
    if items:

        def store(conn: Any) -> int:
            outcomes = [repo.save_item(conn, item)[1] for item in items]
            summary.outcomes.update(outcomes)
            return outcomes.count("new")

        new_items = await db.write(store)
    if error_code:
        summary.failed[source.id] = error_code
    elif not_modified:
        summary.not_modified += 1
    else:
        summary.fetched += 1
    summary.entries += entries_count
    failures = 0 if error_code is None else row.consecutive_failures + 1
    finished = datetime.now(UTC)
    with db.read() as conn:
        recent = source_store.items_last_7d(conn, source.id, finished)
    next_at = next_poll_at(
        finished,
        cadence_min=source.cadence_min,
        cadence_max=source.cadence_max,
        items_7d=recent,
        failures=failures,
        floor=poll_floor(headers, finished, ttl),
    )
    await db.write(
        lambda c: repo.record_fetch(
            c,
            source.id,
            started,
            finished,
            http_status=status,
            error_code=error_code,
            error_message=error_message,
            nbytes=nbytes,
            entries=entries_count,
            new_items=new_items,
            etag=etag,
            last_modified=last_modified,
            next_poll_at=next_at,
        )
    )
