"""After each pass: the report schedule, then notifications. Never fails the pass."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from newsdesk.config import Settings
from newsdesk.runner.notify import dispatch, enqueue_new, targets_for
from newsdesk.runner.reports import scheduled_reports
from newsdesk.store.db import Database

log = logging.getLogger(__name__)


async def after_pass(db: Database, settings: Settings, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    try:
        made = await scheduled_reports(db, settings, now)
        targets = targets_for(settings)
        briefs = [r["period"] for r in made if r["kind"] == "daily"]
        if targets:
            await enqueue_new(db, targets, now, briefs)
            await dispatch(db, settings, targets)
    except Exception:  # outputs must never stop the desk; the error is logged, not raised
        log.exception("outputs after the pass failed")
