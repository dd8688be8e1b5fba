"""Procrastinate workers on PostgreSQL: one task runs one step and defers its `next`.

Every step of `runner/steps.py` is the one task `newsdesk:step(step, ids)` on the queue of
`QUEUES`. Collecting a source holds the lock `source:<id>` (never fetched twice at once) and
its queueing lock keeps one waiting job per source; grouping holds the one lock `group`, so
the stories of one batch are placed one after another and can join each other.

Periodic tasks replace the local loop: `tick` (every minute) syncs the catalog, test-fetches
sources an editor added and defers the due sources; `sweep` (every minute) defers what the
`PENDING` queries still find, which is whatever a lost message or a killed worker left
behind; `retry_stalled` (every 10 s by default) retries the jobs of workers whose heartbeat
stopped. The waits are settings (`NEWSDESK_WORKER_*`, see `Timing`).
A killed task is retried from the start: steps skip ids no longer pending, stories are stored
by identity, paid model calls are answered from their receipts and notifications go through
the outbox, so the retry ends with the rows an uninterrupted run gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate import BaseRetryStrategy, Blueprint, JobContext, RetryDecision
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException, UniqueViolation
from procrastinate.jobs import Job
from psycopg.errors import RaiseException

from newsdesk import metrics
from newsdesk.config import Settings
from newsdesk.policy import Policy
from newsdesk.runner.policy import active_policy, run_policy_jobs
from newsdesk.runner.source_tests import run_source_tests
from newsdesk.runner.steps import STEPS, StepContext, StepResult, pending
from newsdesk.store import repo
from newsdesk.store import state as desk_state
from newsdesk.store.db import Database

log = logging.getLogger(__name__)

QUEUES = {
    "collect": "collect",
    "full_text": "collect",
    "transcripts": "collect",  # fetches, like full text
    "embed": "events",  # vectors just before grouping, on the queue that groups
    "group": "events",
    "judge": "editor",
    "judge_events": "editor",
    "comment": "editor",
    "comment_events": "editor",
    "outputs": "outputs",
}
ALL_QUEUES = ("collect", "editor", "events", "outputs")
MODEL_STEPS = ("judge", "judge_events", "comment", "comment_events")
BATCH = 25  # ids per job: small enough to spread over workers, large enough to be cheap
# Cluster first, as the local pass does: grouping waits a moment so the reports of one tick
# are placed together, and judging waits a little more so each story is judged with the
# coverage (sources carrying it) of everything collected in that tick. Shares of
# NEWSDESK_WORKER_SETTLE_SECONDS (10 s: grouping waits 5, judging 10).
SETTLE = {"group": 0.5, "judge": 1.0, "judge_events": 1.0}
# Steps run in the job of the step before them (a batch of their ids; more go to jobs of their
# own): collect's per-source chain (full text, transcripts) is on the same queue with no lock
# or wait, and a job costs more than either step when it has nothing to do (off, or nothing
# to fetch for most sources). If one fails, the job's retry finds the source fetched already;
# the sweep defers the stories it left (their PENDING queries find them) within a minute.
INLINE = ("full_text", "transcripts")
RETRIES = 6  # a failed task runs 6 more times, then stays `failed` (see `queue status`)


class Backoff(BaseRetryStrategy):
    """Retry a failed task RETRIES times, the first after `first` seconds and each next one
    after twice the wait before it (2, 4, 8, 16, 32 and 64 s by default); then it stays
    `failed`, visible in `queue status` and queued again by `queue retry`."""

    def __init__(self, first: float) -> None:
        self.first = first

    def wait(self, attempts: int) -> float:
        """Seconds before the run that follows the `attempts + 1`-th."""
        return self.first * 2**attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= RETRIES:
            return None
        return RetryDecision(retry_in={"seconds": self.wait(job.attempts)})


class Timing:
    """The worker's waits, from the settings: the heartbeat beats three times in the span after
    which a silent worker counts as dead, and stalled jobs are looked for twice in that span,
    so a killed worker's jobs run again within 1.67 x `worker_stalled_seconds` (25 s by
    default: 15 s of silence, then the check that runs every 10 s)."""

    def __init__(self, settings: Settings) -> None:
        self.stalled_after = settings.worker_stalled_seconds
        self.heartbeat = self.stalled_after / 3
        # the check's cron has a seconds field: a whole number of seconds, at most 59
        self.stalled_check = max(1, min(59, round(self.stalled_after * 2 / 3)))
        self.poll = settings.worker_poll_seconds
        self.retry = Backoff(settings.worker_retry_seconds)


def conninfo(url: str) -> str:
    """The libpq form of our database URL (Procrastinate talks to psycopg directly)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url


def make_app(settings: Settings) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(settings.effective_database_url), min_size=1, max_size=8
    )
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(blueprint(Timing(settings)), namespace="newsdesk")
    return app


def blueprint(timing: Timing) -> Blueprint:
    """The tasks, made anew for every app: Procrastinate renames a blueprint's tasks when an
    app takes them, so one module-level blueprint given to a second app (a test, the bench)
    would register `newsdesk:newsdesk:step`. The retry waits and the stalled-job check's
    period are settings, so they are set here too."""
    bp = Blueprint()
    bp.task(name="step", pass_context=True, retry=timing.retry)(run_step)
    bp.periodic(cron="* * * * *")(bp.task(name="tick", pass_context=True, queue="collect")(tick))
    bp.periodic(cron="* * * * *")(bp.task(name="sweep", pass_context=True, queue="outputs")(sweep))
    check = bp.task(name="retry_stalled", pass_context=True, queue="outputs")(retry_stalled)
    bp.periodic(cron=f"* * * * * */{timing.stalled_check}")(check)  # sixth field: seconds
    return bp


async def defer(app: procrastinate.App, step: str, ids: Iterable[Any], **options: Any) -> int:
    """Defer `step` over ids in batches (collect: one job per source, with its locks).
    Returns how many jobs were queued; one already waiting under a queueing lock is kept."""
    ids = list(ids)
    if step == "collect":
        batches = [([i], f"source:{i}", f"collect:{i}") for i in ids]
    elif step == "outputs":
        batches = [([], None, "outputs")]
    elif step == "group":
        # A group job places every story waiting when it runs (under the lock), whatever ids
        # it was given: one waiting job is enough. A job per embedded source made them run
        # one per poll interval (a job a lock frees wakes no worker: 206 jobs, 7 minutes).
        batches = [([], "group", "group")]
    else:
        batches = [(ids[n : n + BATCH], None, None) for n in range(0, len(ids), BATCH)]
    queued = 0
    for chunk, lock, queueing_lock in batches:
        job = app.configure_task(
            "newsdesk:step",
            queue=QUEUES[step],
            lock=lock,
            queueing_lock=options.get("queueing_lock", queueing_lock),
            schedule_in={"seconds": options.get("settle", 0)},
        )
        try:
            await job.defer_async(step=step, ids=chunk)
            queued += 1
        except AlreadyEnqueued:
            pass  # the same work is already waiting
    return queued


async def defer_next(app: procrastinate.App, result: StepResult, settle: float) -> None:
    """Defer the steps `result` hands on, each after its share of `settle` seconds."""
    for step, ids in result.next.items():
        if ids:
            await defer(app, step, ids, settle=SETTLE.get(step, 0) * settle)


async def _context(job: JobContext) -> StepContext:
    base: StepContext = job.additional_context["steps"]
    ctx = base.for_task()
    # The desk's policy is the version editors activated last: read for every task, so an
    # activation reaches running workers without a restart. Read in a thread: a task that
    # waited on the database here held up every other task on the worker's event loop.
    ctx.policy = await asyncio.to_thread(active_policy, ctx.db, ctx.settings)
    return ctx


async def run_step(context: JobContext, step: str, ids: list[Any]) -> dict[str, Any]:
    """Run `step` on ids, then the steps chained to it (INLINE), and defer what follows."""
    ctx = await _context(context)
    if step == "collect":  # a second job for a source fetched meanwhile waits for its turn
        rows = await ctx.read(lambda c: repo.due_source_rows(c, ctx.started, list(ids)))
        due = {r.id for r in rows}
        ids = [i for i in ids if i in due]
    elif step == "group":  # under the group lock: every story waiting, in filing order
        ids = await pending(ctx, "group")
    result = await _timed(ctx, step, ids)
    done = [result.as_json()]
    while chained := [s for s in INLINE if result.next.get(s)]:
        ids = result.next[chained[0]][:BATCH]  # a first import's hundreds still spread out
        result.next[chained[0]] = result.next[chained[0]][BATCH:]
        await defer_next(context.app, result, ctx.settings.worker_settle_seconds)  # the rest
        result = await _timed(ctx, chained[0], ids)
        done.append(result.as_json())
    await defer_next(context.app, result, ctx.settings.worker_settle_seconds)
    return done[0] if len(done) == 1 else {"chained": done}


async def _timed(ctx: StepContext, step: str, ids: list[Any]) -> StepResult:
    started = time.monotonic()
    try:
        result = await STEPS[step](ctx, ids)
    except Exception:
        metrics.task_finished(QUEUES[step], step, time.monotonic() - started, failed=True)
        raise
    metrics.task_finished(QUEUES[step], step, time.monotonic() - started, failed=False)
    metrics.step_counts(result)
    if step in MODEL_STEPS:
        await desk_state.set_paused(ctx.db, result.paused, ctx.started, any(result.counts.values()))
    return result


async def tick(context: JobContext, timestamp: int) -> int:
    """Sync the catalog, test-fetch added sources, defer the due sources (every minute)."""
    ctx = await _context(context)
    catalog = context.additional_context.get("catalog")
    if catalog:
        now = datetime.now(UTC)
        await ctx.db.write(lambda c: repo.upsert_sources(c, catalog(), now))
    await run_source_tests(ctx.db, ctx.settings)
    await run_policy_jobs(ctx.db, ctx.settings)  # proposals and previews asked for in the admin
    if not ctx.settings.collect_enabled:
        return 0
    return await defer(context.app, "collect", await pending(ctx, "collect"))


async def tick_now(app: procrastinate.App) -> None:
    """Queue a tick for now: a worker that starts collects at once, not at the next minute
    (up to 60 s later). Workers starting together queue one (its queueing lock); a tick that
    meets the minute's own defers nothing twice (each source's collect job has its lock)."""
    job = app.configure_task("newsdesk:tick", queue="collect", queueing_lock="tick:start")
    with contextlib.suppress(AlreadyEnqueued):
        await job.defer_async(timestamp=int(time.time()))


async def sweep(context: JobContext, timestamp: int) -> int:
    """Defer whatever the PENDING queries still find (a lost message, a killed worker), and
    the outputs step (heat, due reports, notifications). Every minute."""
    ctx = await _context(context)
    queued = 0
    ungrouped: set[Any] = set()
    waiting = await _in_jobs(context.app)
    for step in STEPS:
        if step in ("collect", "outputs"):
            continue
        ids = await pending(ctx, step)
        if step == "group":
            ungrouped = set(ids)
            queued += await defer(context.app, step, ids) if ids else 0  # the one group job
            continue
        # ids a waiting job holds are not lost: that job takes them and reads them when it
        # runs. A running job's ids are deferred again: it may have read a story before its
        # coverage changed (a report grouped meanwhile), and its judgement would stay stale
        ids = [i for i in ids if i not in waiting.get(step, ())]
        if step == "judge":  # a story is judged after grouping, with its coverage
            ids = [i for i in ids if i not in ungrouped]
        for n in range(0, len(ids), BATCH):
            # one waiting sweep job per batch, so a slow queue is not flooded minute after minute
            queued += await defer(context.app, step, ids[n : n + BATCH],
                                  queueing_lock=f"sweep:{step}:{n // BATCH}")  # fmt: skip
    queued += await defer(context.app, "outputs", [])
    return queued


# The ids of the step jobs waiting to run. A backlog (embedding behind collecting, say)
# once got every waiting id deferred again by each sweep: up to twice the work for a step.
_IN_JOBS = (
    "SELECT args->>'step' AS step, args->'ids' AS ids FROM procrastinate_jobs "
    "WHERE task_name = 'newsdesk:step' AND status = 'todo'"
)


async def _in_jobs(app: procrastinate.App) -> dict[str, set[Any]]:
    held: dict[str, set[Any]] = {}
    for row in await app.connector.execute_query_all_async(query=_IN_JOBS):
        held.setdefault(row["step"], set()).update(row["ids"] or ())
    return held


async def retry_stalled(context: JobContext, timestamp: int) -> int:
    """Jobs left `doing` by a worker whose heartbeat stopped (killed, frozen, lost its
    network) go back to `todo` for another worker. Every `Timing.stalled_check` seconds."""
    manager = context.app.job_manager
    silent = context.additional_context["timing"].stalled_after
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=silent))
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            # the same work waits already under the job's queueing lock (a tick queued it
            # while this one ran): that job does it, this one goes
            log.warning("stalled job %s is queued again already; dropping it", job.id)
            for query in (
                "DELETE FROM procrastinate_events WHERE job_id = %(id)s",
                "DELETE FROM procrastinate_jobs WHERE id = %(id)s AND status = 'doing'",
            ):
                await context.app.connector.execute_query_async(query=query, id=job.id)
        except ConnectorException as exc:
            if not isinstance(exc.__cause__, RaiseException):
                raise
            # Procrastinate's own refusal: the job is no longer `doing` (its slow worker
            # finished it after the list was read, or another check retried it first)
            log.warning("stalled job %s ended meanwhile; left as it is", job.id)
    return len(stalled)


async def run_worker(
    db: Database,
    settings: Settings,
    policy: Policy,
    *,
    queues: list[str] | None,
    concurrency: int,
    catalog: Any = None,
    wait: bool = True,
) -> None:
    """Run one worker until SIGTERM/SIGINT (which let the running tasks finish)."""
    app = make_app(settings)
    timing = Timing(settings)
    async with StepContext(db, settings, policy) as base, app.open_async():
        if queues is None or "collect" in queues:
            await tick_now(app)
        await app.run_worker_async(
            queues=queues,
            concurrency=concurrency,
            name=f"newsdesk-{os.getpid()}",
            wait=wait,
            additional_context={"steps": base, "catalog": catalog, "timing": timing},
            update_heartbeat_interval=timing.heartbeat,
            stalled_worker_timeout=timing.stalled_after,
            listen_notify=True,
            fetch_job_polling_interval=timing.poll,
        )
