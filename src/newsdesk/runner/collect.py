"""Collecting one source: fetch on the loop, parse and normalise in the CPU pool, store.

`steps.collect` runs this for every source it is given; a failure is recorded on the source
with its error code and never reaches the other sources.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from newsdesk.collect.cadence import next_poll_at
from newsdesk.collect.http import Fetcher
from newsdesk.collect.politeness import poll_floor
from newsdesk.domain import Item
from newsdesk.normalize import FreshnessRules
from newsdesk.normalize.stage import normalize_batch
from newsdesk.runner.cpu import CpuPool, digest_body
from newsdesk.sources.kinds import poll_url, pushed_entry
from newsdesk.store import repo
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database
from newsdesk.store.repo import FetchRecord

log = logging.getLogger(__name__)


@dataclass
class Collected:
    """What one source's poll gave: counts, its error code, and the stories that changed."""

    counts: Counter[str] = field(default_factory=Counter)
    error_code: str | None = None
    changed: list[int] = field(default_factory=list)  # new, revised or discovered story ids


async def record_crash(db: Database, row: Any, exc: Exception) -> Collected:
    """Every known failure has its code; this is for the ones nobody foresaw. The traceback
    goes to the log for whoever fixes it, the source backs off like any failing source."""
    log.exception("collecting %s failed unexpectedly", row.id)
    now = datetime.now(UTC)
    failures = row.consecutive_failures + 1
    message = f"unexpected {type(exc).__name__}: {exc}"[:500]
    next_at = next_poll_at(now, cadence_min=row.cadence_min, cadence_max=row.cadence_max,
                           items_7d=0, failures=failures, floor=None)  # fmt: skip
    rec = FetchRecord(row.id, now, now, http_status=None, error_code="internal_error",
                      error_message=message, nbytes=0, entries=0, new_items=0, etag=row.etag,
                      last_modified=row.last_modified, next_poll_at=next_at)  # fmt: skip
    await db.write(lambda c: repo.record_fetch(c, rec))
    return Collected(error_code="internal_error")


async def collect_source(
    db: Database,
    fetcher: Fetcher,
    fetch_slots: asyncio.Semaphore,
    pool: CpuPool,
    row: Any,
    rules: FreshnessRules,
) -> Collected:
    source = repo.source_from_row(row)
    started = datetime.now(UTC)
    done = Collected()
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

        def store(conn: Any) -> list[tuple[int, str]]:
            return [repo.save_item(conn, item) for item in items]

        saved = await db.write(store)
        done.counts.update(f"outcomes.{outcome}" for _, outcome in saved)
        done.changed = [item_id for item_id, outcome in saved if outcome != "unchanged"]
        new_items = sum(outcome == "new" for _, outcome in saved)
    if error_code:
        done.error_code = error_code
    elif not_modified:
        done.counts["not_modified"] += 1
    else:
        done.counts["fetched"] += 1
    done.counts["entries"] += entries_count
    failures = 0 if error_code is None else row.consecutive_failures + 1
    finished = datetime.now(UTC)
    recent = await db.read_async(lambda c: source_store.items_last_7d(c, source.id, finished))
    next_at = next_poll_at(
        finished,
        cadence_min=source.cadence_min,
        cadence_max=source.cadence_max,
        items_7d=recent,
        failures=failures,
        floor=poll_floor(headers, finished, ttl),
    )
    rec = FetchRecord(
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
    await db.write(lambda c: repo.record_fetch(c, rec))
    return done
