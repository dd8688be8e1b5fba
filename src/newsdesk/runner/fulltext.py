"""The full-text step: complete teaser bodies from the story's page (collect/fulltext.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from newsdesk.collect.fulltext import fetch_full_text, full_text_fetcher, needs_full_text
from newsdesk.config import Settings
from newsdesk.store import sources as source_store
from newsdesk.store.db import Database

PER_PASS = 40  # stories tried per pass; the rest wait for the next pass
CONCURRENCY = 4
STEP_SECONDS = 90.0  # the whole step's budget: it never holds the pipeline longer


async def run_full_text(db: Database, settings: Settings) -> Counter[str]:
    done: Counter[str] = Counter()
    with db.read() as conn:
        rows = source_store.items_for_full_text(conn, PER_PASS)
    short = []
    for row in rows:
        if needs_full_text(row.body_text):
            short.append(row)
        else:
            await db.write(lambda c, i=row.id: source_store.save_full_text(c, i, "feed"))
            done["feed"] += 1
    if not short:
        return done
    limit = asyncio.Semaphore(CONCURRENCY)
    async with full_text_fetcher(settings.allow_private_urls) as fetcher:

        async def one(row: Any) -> None:
            async with limit:
                found = await fetch_full_text(fetcher, row.url)
            item_id = row.id
            await db.write(
                lambda c: source_store.save_full_text(c, item_id, found.status, found.text,
                                                      found.html)
            )  # fmt: skip
            done[found.status] += 1

        tasks = [asyncio.create_task(one(r)) for r in short]
        _finished, unfinished = await asyncio.wait(tasks, timeout=STEP_SECONDS)
        for task in unfinished:  # left with no status: tried again next pass
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
    return done
