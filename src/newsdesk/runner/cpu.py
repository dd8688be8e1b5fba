"""The CPU-bound half of collecting, parse + normalise, in worker processes.

feedparser, nh3 and py3langid hold the GIL for about 1.5 ms per item. Run in threads they
starved the event loop that every other fetch runs on, so healthy feeds passed their deadline
while their answer waited for the CPU (bench/collect.py). In a process pool sized to the cores
the loop only fetches and writes, and parsing uses every core.

Inputs and outputs are plain domain dataclasses, so they pickle; a worker never touches the
network or the database. Even the smallest bodies go to a worker: on the corpus a feed under
2 KB costs the loop 3.9 ms of CPU parsed in-process and 0.27 ms shipped (docs/performance.md,
"Collect"), so an in-process shortcut for tiny bodies would not be faster.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from newsdesk.domain import Entry, Item, Source
from newsdesk.lifeline import exit_with
from newsdesk.normalize.stage import FreshnessRules, normalize_batch
from newsdesk.normalize.text import detect_language
from newsdesk.sources import presets
from newsdesk.sources.kinds import parse_bytes
from newsdesk.sources.rss import NotAFeed, cache_base_uris
from newsdesk.sources.web_list import complete_entries

T = TypeVar("T")


@dataclass
class Digest:
    """What one fetched body became: items to store, or the error code that stopped it."""

    items: list[Item] = field(default_factory=list)
    entries: int = 0
    ttl_minutes: int | None = None  # RSS <ttl>: a lower bound on the next poll
    error_code: str | None = None
    error_message: str | None = None


def _parsed_or_error(source: Source, body: bytes, base_url: str) -> tuple[list[Entry], Digest]:
    try:
        parsed = parse_bytes(source, body, base_url)
    except NotAFeed as exc:
        return [], Digest(error_code=exc.code, error_message=str(exc))
    return parsed.entries, Digest(ttl_minutes=parsed.ttl_minutes)


def parse_only(source: Source, body: bytes, base_url: str) -> tuple[list[Entry], Digest]:
    """Worker job for kinds that fetch detail pages between parsing and normalising."""
    return _parsed_or_error(source, body, base_url)


def normalize_only(
    entries: list[Entry],
    source: Source,
    now: datetime,
    rules: FreshnessRules,
    first_import: bool,
    digest: Digest,
) -> Digest:
    """Worker job: refine and normalise entries that are already parsed."""
    try:
        entries = presets.refine(entries, source.options)
        digest.items = normalize_batch(entries, source, now, rules, first_import)
    except Exception as exc:  # as in parse_bytes: this source loses its poll, not the pass
        problem = f"{type(exc).__name__}: {exc}"[:300]
        return Digest(error_code="parse_error", error_message=f"normalising failed: {problem}")
    digest.entries = len(entries)
    return digest


def parse_and_normalize(
    source: Source,
    body: bytes,
    base_url: str,
    now: datetime,
    rules: FreshnessRules,
    first_import: bool,
) -> Digest:
    """Worker job: bytes of one poll to items, in one hop (only the items travel back)."""
    entries, digest = _parsed_or_error(source, body, base_url)
    if digest.error_code:
        return digest
    return normalize_only(entries, source, now, rules, first_import, digest)


def warm_up() -> None:
    """Load what parsing needs before the first body arrives: the language model loads
    lazily (~0.2 s). Called in the forkserver (`cpu_warm`), so workers are forked warm."""
    cache_base_uris()
    detect_language("warming up the language model")


def _start_worker(runner: int) -> None:
    exit_with(runner)  # a runner killed outright takes its pool with it (lifeline.py)
    warm_up()  # at no cost when the forkserver was warmed


# Fetched sources that may wait for a worker, per worker: enough that a burst of answers
# keeps every core busy, few enough that the bodies held stay bounded.
WAITING_PER_WORKER = 4


def _preload(warm_embedder: bool) -> list[str]:
    """What the forkserver imports once for every worker it forks.

    A worker starts by running the parent's main script again (multiprocessing's `prepare`;
    Python 3.11's forkserver drops the "__main__" preload it documents). For the `newsdesk`
    command that script imports the whole CLI, ~0.65 s of CPU per worker and four workers per
    pass; with the CLI already imported in the forkserver the script's import is a look-up.
    The bundled embedding model costs ~1.5 s of CPU to load (its tokenizer, mostly): loaded
    once in the forkserver, not in each worker of each pass that embeds."""
    cli = ["newsdesk.cli"] if "newsdesk.cli" in sys.modules else []
    embed = ["newsdesk.runner.cpu_warm_embed"] if warm_embedder else []
    return [*cli, "newsdesk.runner.cpu_warm", *embed]


def pool_size() -> int:
    return max(1, len(os.sched_getaffinity(0)))


class CpuPool:
    """One process pool per run, shut down when the run's collect step ends.

    Workers come from a forkserver: forking the runner itself (which has a writer thread and
    open connections) could copy a held lock into the child."""

    def __init__(self, workers: int | None = None, *, warm_embedder: bool = False) -> None:
        """`warm_embedder`: the workers will embed with the bundled model. A process has one
        forkserver, started by its first pool: that pool's choice holds for the later ones."""
        self.workers = workers or pool_size()
        self.warm_embedder = warm_embedder
        self._executor: Executor | None = None

    def _start(self) -> Executor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_preload(self.warm_embedder))
        return ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
        )

    async def __aenter__(self) -> CpuPool:
        self._executor = self._start()
        # Start the workers now, in a thread: a worker's start waits for the forkserver's
        # preload (the CLI, the models: seconds under load), and on the event loop that wait
        # stalled every fetch and a queue worker's heartbeat (its jobs were then retried as
        # stalled while they ran).
        await asyncio.to_thread(self._spawn_all, self._executor)
        return self

    def _spawn_all(self, executor: Executor) -> None:
        for started in [executor.submit(os.getpid) for _ in range(self.workers)]:
            started.result()

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def worker_pids(self) -> list[int]:
        """The live workers (bench/collect.py adds their CPU time to the loop's)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.pid is not None]

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker; in-process when the pool is not started (one-off
        probes, tests comparing both)."""
        if self._executor is None:
            return fn(*args)
        executor = self._executor
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, fn, *args)
        except BrokenProcessPool:
            # a worker died (killed, out of memory): every job in flight fails with it, so
            # the first to notice starts a fresh pool and each job gets one more try there
            if self._executor is executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
            return await loop.run_in_executor(self._executor, fn, *args)


async def digest_body(
    pool: CpuPool,
    source: Source,
    body: bytes,
    base_url: str,
    now: datetime,
    rules: FreshnessRules,
    first_import: bool,
    fetch_page: Callable[[str], Awaitable[bytes | None]] | None = None,
) -> Digest:
    """Parse and normalise one fetched body off the event loop."""
    try:
        return await _digest(pool, source, body, base_url, now, rules, first_import, fetch_page)
    except BrokenProcessPool:
        # the body killed a worker twice: record it on this source, let the others go on
        return Digest(
            error_code="parse_error", error_message="the parser process died on this body"
        )


async def _digest(
    pool: CpuPool,
    source: Source,
    body: bytes,
    base_url: str,
    now: datetime,
    rules: FreshnessRules,
    first_import: bool,
    fetch_page: Callable[[str], Awaitable[bytes | None]] | None,
) -> Digest:
    if source.kind == "web_list" and source.options.get("detail") and fetch_page is not None:
        # detail pages are fetched by the loop between the two CPU halves
        entries, digest = await pool.run(parse_only, source, body, base_url)
        if digest.error_code:
            return digest
        entries = await complete_entries(entries, fetch_page)
        return await pool.run(normalize_only, entries, source, now, rules, first_import, digest)
    return await pool.run(parse_and_normalize, source, body, base_url, now, rules, first_import)
