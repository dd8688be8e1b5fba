"""The local runner: one pass over every step, in-process, in order.

`run_once` is a loop over `runner/steps.py: STEPS`, each fed by its `PENDING` query: the same
step functions the workers run one task at a time. Every step is durable and idempotent: a
second pass over the same feeds stores nothing new, a story is judged once per change, and
grouping only looks at stories not yet in an event.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from newsdesk.config import Settings
from newsdesk.domain import Source
from newsdesk.policy import Policy
from newsdesk.runner.source_tests import run_source_tests
from newsdesk.runner.steps import STEPS, Progress, StepContext, StepResult, pending
from newsdesk.store import repo
from newsdesk.store import state as desk_state
from newsdesk.store.db import Database

__all__ = ["Progress", "RunSummary", "run_once"]


@dataclass
class RunSummary:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # source id -> error code
    entries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # new, revision, discovery, unchanged
    judged: int = 0
    judge_failed: int = 0  # stories the model failed to judge (the rules judged them instead)
    judged_by_rules: int = 0  # rules verdicts given in the model's place
    tiers: Counter[str] = field(default_factory=Counter)
    embedded: int = 0  # stories given a vector of the current embedder
    embed_failed: int = 0
    grouped: int = 0
    events_created: int = 0
    regrouped: int = 0  # rules placements the model disagreed with, placed again
    full_text: Counter[str] = field(default_factory=Counter)  # ok, unconfirmed, feed
    transcripts: Counter[str] = field(default_factory=Counter)  # ok, none, failed, retry
    second_opinions: int = 0
    commented: int = 0  # stories' and events' commentaries
    comment_failed: int = 0
    events_judged: int = 0  # multi-source events judged as a whole
    events_commented: int = 0
    events_failed: int = 0
    events_by_rules: int = 0
    # model calls of the pass: answered (stored answers included), failed, held, paused
    model_calls: Counter[str] = field(default_factory=Counter)
    model_down: str = ""  # why the model was left alone (its circuit breaker opened)
    paused: str = ""  # why the model steps stopped early (a spent budget), "" when they did not
    seconds: float = 0.0

    @property
    def model_failed(self) -> str:
        """Why every model call of the pass failed ("" when one was answered or none failed):
        the CLI says it and exits 1, since the desk then shows only the rules editor's work."""
        calls = self.model_calls
        if not calls["failed"] or calls["answered"]:
            return ""
        return self.model_down or f"all {calls['failed']} model calls failed"

    def absorb(self, result: StepResult) -> None:
        """Add one step's counts ("tiers.p1" goes to `tiers["p1"]`)."""
        for key, n in result.counts.items():
            name, _, sub = key.partition(".")
            if sub:
                getattr(self, name)[sub] += n
            elif hasattr(self, name):
                setattr(self, name, getattr(self, name) + n)
        self.failed.update(result.failed)
        self.paused = self.paused or result.paused

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
            "embedded": self.embedded,
            "embed_failed": self.embed_failed,
            "grouped": self.grouped,
            "events_created": self.events_created,
            "regrouped": self.regrouped,
            "full_text": dict(self.full_text),
            "transcripts": dict(self.transcripts),
            "second_opinions": self.second_opinions,
            "commented": self.commented,
            "comment_failed": self.comment_failed,
            "events_judged": self.events_judged,
            "events_commented": self.events_commented,
            "events_failed": self.events_failed,
            "events_by_rules": self.events_by_rules,
            "judged_by_rules": self.judged_by_rules,
            "model_calls": dict(self.model_calls),
            "model_down": self.model_down,
            "paused": self.paused,
            "seconds": round(self.seconds, 2),
        }


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
    summary = RunSummary()
    # Runs a killed process left `running` are closed first, so the run list tells the truth.
    me = _owner(os.getpid())
    await db.write(lambda c: repo.close_interrupted_runs(c, started, me, _alive, STALE_RUN))
    run_id = await db.write(lambda c: repo.start_pipeline_run(c, started, me))
    try:
        return await _run_steps(db, settings, policy, summary, run_id, started, catalog=catalog,
                                demo=demo, only_due=only_due, progress=progress)  # fmt: skip
    except BaseException as exc:
        # A pass that stops on an error (a full disk, a lost server, a bug, Ctrl-C) says so in
        # its row when the database still takes the write; a killed one is closed next time.
        stats = {**summary.as_dict(), "error": f"{type(exc).__name__}: {exc}"[:500]}
        with contextlib.suppress(Exception):
            now = datetime.now(UTC)
            await db.write(lambda c: repo.finish_pipeline_run(c, run_id, now, "failed", stats))
        raise


# A run row still `running` after this long belongs to a process that is gone, whichever
# machine it ran on (a pass takes minutes; the local pass never runs for hours).
STALE_RUN = timedelta(hours=6)


def _owner(pid: int) -> dict[str, Any]:
    """Who runs a pass: host, process id and the process's start (a restarted container's
    new process often has the dead one's id, so the id alone cannot tell them apart)."""
    return {"host": socket.gethostname(), "pid": pid, "start": _process_start(pid)}


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, from /proc (None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            # the command name in parentheses may hold spaces: fields count after its ")"
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(owner: dict[str, Any]) -> bool:
    """Is the process that wrote `owner` (a process of this machine) still running?"""
    pid = owner["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    start = owner.get("start")
    return start is None or _process_start(pid) in (None, start)


async def _run_steps(
    db: Database,
    settings: Settings,
    policy: Policy,
    summary: RunSummary,
    run_id: int,
    started: datetime,
    *,
    catalog: list[Source] | None,
    demo: bool,
    only_due: bool,
    progress: Progress | None,
) -> RunSummary:

    # The catalog file is the operator's word on what to follow; health rows are kept.
    if catalog is not None:
        await db.write(lambda c: repo.upsert_sources(c, catalog, started))
    # Sources an editor added in the admin pages get their one test fetch (never a page's).
    await run_source_tests(db, settings)

    async with StepContext(
        db, settings, policy, demo=demo, progress=progress, started=started
    ) as ctx:
        for name, step in STEPS.items():
            if name == "collect" and not only_due:
                ids: list[Any] = await ctx.read(
                    lambda c: [r.id for r in repo.list_source_rows(c, True)]
                )
            else:
                ids = await pending(ctx, name)
            summary.absorb(await step(ctx, ids))
            if name == "collect":
                await ctx.close_collect()  # the CPU pool's processes are not needed after it
        provider = ctx.opened_provider()
        if provider is not None:
            summary.model_calls.update(provider.tally)
            summary.model_down = "; ".join(sorted(set(provider.unreachable().values())))
    finished = datetime.now(UTC)
    # what the admin pages and `queue status` show, as the workers record it
    worked = summary.judged + summary.events_judged + summary.commented > 0
    await desk_state.set_paused(db, summary.paused, finished, worked)
    summary.seconds = (finished - started).total_seconds()
    stats = summary.as_dict()
    await db.write(lambda c: repo.finish_pipeline_run(c, run_id, finished, "ok", stats))
    return summary
