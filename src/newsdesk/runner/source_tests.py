"""The test fetch of sources an editor added in the admin pages (store/source_tests.py).

Run at the start of every pass: each waiting source is fetched and parsed once with the collect
stage (`probe`), nothing is stored but the outcome, and the source stays disabled until an
editor enables it. The SSRF guard is the collect stage's: private addresses only when the
operator allows them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from newsdesk.config import Settings
from newsdesk.runner.probe import probe
from newsdesk.store import repo
from newsdesk.store import source_tests as store
from newsdesk.store.db import Database


async def run_source_tests(db: Database, settings: Settings) -> int:
    """Test-fetch every source waiting for it; returns how many were tried."""
    rows = await db.read_async(store.sources_to_test)
    if not rows or not settings.collect_enabled:
        return 0

    async def one(row: object) -> None:
        source = repo.source_from_row(row)
        started = datetime.now(UTC)
        try:
            found = await probe(
                source, settings.allow_private_urls, timeout=settings.fetch_timeout_seconds
            )
            url, status, entries = found.url, found.http_status, len(found.entries)
            code, message = found.error_code, found.error_message
        except Exception as exc:  # a broken source must not stop the pass
            url, status, entries = source.url, None, 0
            code, message = "test_error", f"{type(exc).__name__}: {exc}"[:500]
        finished = datetime.now(UTC)
        await db.write(
            lambda c: store.record_test(
                c, source.id, started, finished, url=url, http_status=status, entries=entries,
                error_code=code, error_message=message,
            )
        )  # fmt: skip

    await asyncio.gather(*(one(r) for r in rows))
    return len(rows)
