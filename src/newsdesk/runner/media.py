"""Transcripts of stories with media: the collect stage's fetch wired to the store.

Called by the `transcripts` step (runner/steps.py). Bounded like full text: a few stories at
once, a cap on the whole step, unfinished ones wait for the next pass.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from newsdesk.collect.captions import YouTubeCaptions
from newsdesk.collect.transcripts import (
    CaptionSource,
    Found,
    fetch_transcript,
    transcript_fetcher,
)
from newsdesk.config import Settings
from newsdesk.store import media as store_media
from newsdesk.store.db import Database
from newsdesk.store.media import MediaTodo

PER_PASS = 20
CONCURRENCY = 3
STEP_SECONDS = 120.0
RETRY_AFTER = timedelta(hours=1)  # a timeout or a server error: looked at again later


def caption_source(settings: Settings) -> CaptionSource | None:
    """YouTube's captions when the operator turned them on; None otherwise."""
    if not settings.youtube_captions:
        return None
    languages = tuple(x.strip() for x in settings.youtube_caption_languages.split(",") if x.strip())
    return YouTubeCaptions(languages or ("en",))


async def fetch_transcripts(
    db: Database,
    settings: Settings,
    todo: list[MediaTodo],
    captions: CaptionSource | None = None,
    step_seconds: float = STEP_SECONDS,
    fetch_seconds: float | None = None,
) -> Counter[str]:
    """Fetch and store the transcript and chapters of each story; counts by outcome."""
    counts: Counter[str] = Counter()
    if not todo:
        return counts
    limit = asyncio.Semaphore(CONCURRENCY)
    timeout = fetch_seconds if fetch_seconds is not None else min(settings.fetch_timeout_seconds,
                                                                 20.0)  # fmt: skip
    async with transcript_fetcher(settings.allow_private_urls, timeout) as fetcher:

        async def one(story: MediaTodo) -> None:
            async with limit:
                try:
                    found = await fetch_transcript(fetcher, story.media, captions)
                except Exception as exc:  # a bug one file's bytes found: that story's failure
                    found = Found(
                        "failed", error=f"internal_error: {type(exc).__name__}: {exc}"[:300]
                    )
            now = datetime.now(UTC)
            retry_at = now + RETRY_AFTER * (story.attempts + 1) if found.status == "retry" else None
            await db.write(
                lambda c: store_media.save(
                    c, story.item_id, found.status, now, transcript=found.transcript,
                    chapters=found.chapters, url=found.url, error=found.error, retry_at=retry_at,
                )
            )  # fmt: skip
            counts[f"transcripts.{found.status}"] += 1

        tasks = [asyncio.create_task(one(s)) for s in todo]
        _done, unfinished = await asyncio.wait(tasks, timeout=step_seconds)
        for task in unfinished:  # left without a row: tried again on the next pass
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result  # a storage failure stops the pass, as in every step
    return counts
