"""Notification wiring: fill the outbox from the store, then deliver with retries.

The pipeline only ever waits for a bounded dispatch: each delivery runs in a thread with a
timeout, failures stay pending for the next pass (up to MAX_ATTEMPTS), and nothing here raises.
Stories are notified only when live (never backfill) and first seen in the last 48 hours, so a
fresh desk or an old import never floods a channel.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from newsdesk.config import Settings
from newsdesk.notify import Target, deliver, parse_targets
from newsdesk.store import outputs
from newsdesk.store.db import Database

MAX_ATTEMPTS = 5
WINDOW = timedelta(hours=48)


def _tags(row: dict[str, Any]) -> list[str]:
    tags = row.get("tags") or {}
    return [*tags.get("capabilities", []), *tags.get("entities", []), *tags.get("topics", [])]


def targets_for(settings: Settings) -> list[Target]:
    if not settings.notify_enabled:
        return []
    return parse_targets(settings.notify_urls.get_secret_value())


async def enqueue_new(
    db: Database,
    targets: list[Target],
    now: datetime,
    briefs: list[str] = (),  # type: ignore[assignment]
) -> int:
    """Queue live stories each target wants, and the given daily briefs. Returns rows added."""
    if not targets:
        return 0
    tiers = tuple(sorted({tier for target in targets for tier in target.tiers}))
    stories = await db.read_async(lambda c: outputs.stories_to_notify(c, now - WINDOW, tiers))

    def fill(conn: Any) -> int:
        added = 0
        for row in stories:
            for target in targets:
                if target.wants(row["tier"], _tags(row)):
                    added += outputs.enqueue(conn, "story", str(row["id"]), target.key, now)
        for period in briefs:
            for target in targets:
                if target.brief:
                    added += outputs.enqueue(conn, "daily", period, target.key, now)
        return added

    return await db.write(fill)


def _message(conn: Any, row: dict[str, Any], base_url: str) -> tuple[str, str] | None:
    if row["kind"] == "daily":
        report = outputs.get_report(conn, "daily", row["ref"])
        if report is None:
            return None
        return report["data"].get("title", "Daily brief"), report["markdown"]
    found = outputs.stories_to_notify(
        conn, datetime(1970, 1, 1, tzinfo=UTC), ("p1", "featured"), int(row["ref"])
    )
    if not found:
        return None  # re-judged below the line, or excluded, since it was queued
    story = found[0]
    headline = story["title_en"] or story["title_zh"] or story["title"]
    title = f"{story['tier'].upper()} · {headline}"
    body = (
        f"{story['summary_en'] or story['summary_zh']}\n\n"
        f"{story['source_name']} · importance {story['importance']}\n"
        f"{story['url']}\n{base_url}/items/{story['id']}"
    )
    return title, body


async def dispatch(db: Database, settings: Settings, targets: list[Target]) -> dict[str, int]:
    """Deliver what is pending; a failure stays pending until MAX_ATTEMPTS."""
    by_key = {t.key: t for t in targets}
    counts = {"sent": 0, "failed": 0, "dropped": 0}

    def load(conn: Any) -> tuple[list[Any], dict[Any, Any]]:
        pending = outputs.pending_deliveries(conn, MAX_ATTEMPTS)
        return pending, {row["id"]: _message(conn, row, settings.base_url) for row in pending}

    pending, messages = await db.read_async(load)

    async def one(row: dict[str, Any]) -> None:
        target, message = by_key.get(row["target"]), messages[row["id"]]
        now = datetime.now(UTC)
        if target is None or message is None:  # target removed, or story no longer public
            counts["dropped"] += 1
            await db.write(
                lambda c: outputs.record_delivery(c, row["id"], False, "dropped", now, True)
            )
            return
        error = await deliver(target, *message)
        counts["sent" if error is None else "failed"] += 1
        give_up = error is not None and row["attempts"] + 1 >= MAX_ATTEMPTS
        await db.write(
            lambda c: outputs.record_delivery(c, row["id"], error is None, error, now, give_up)
        )

    await asyncio.gather(*(one(row) for row in pending))
    return counts
