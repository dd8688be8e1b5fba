"""Wiring of the events stage: grouping, titles after judging, heat.

Grouping loads the 14-day window around the pending stories into one `CandidateIndex` per pass
and adds each story as it is placed, so later stories of the same pass can join it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from newsdesk.events import CandidateIndex
from newsdesk.events.grouping import WINDOW
from newsdesk.events.heat import HEAT_WINDOW, Report, event_heat
from newsdesk.store import events as store_events
from newsdesk.store.db import Database


async def group_pending(db: Database, now: datetime, progress: Any = None) -> tuple[int, int]:
    """Group every story not yet in an event. Returns (stories grouped, events created)."""
    with db.read() as conn:
        pending = store_events.ungrouped_refs(conn)
        index = CandidateIndex()
        if pending:
            start, end = pending[0].filed_at - WINDOW, pending[-1].filed_at + WINDOW
            for ref in store_events.window_refs(conn, start, end):
                index.add(ref)
    if progress is not None:
        progress.start("group", len(pending))
    created = 0
    for ref in pending:
        decision = await index.choose(ref)
        event_id = await db.write(lambda c, r=ref, d=decision: store_events.attach(c, r, d, now))
        relation = "lead" if decision.event_id is None else decision.relation
        index.add(replace(ref, event_id=event_id, relation=relation))
        created += decision.event_id is None
        if progress is not None:
            progress.advance("group")
    return len(pending), created


async def refresh_heat(db: Database, now: datetime) -> int:
    """Recompute heat of every event reported in the last 48 h (and decay the others)."""
    with db.read() as conn:
        seen = store_events.sightings(conn, now - HEAT_WINDOW)
    heats = {
        event_id: event_heat((Report(s.source_id, s.at, s.backfill) for s in rows), now)
        for event_id, rows in seen.items()
    }
    if heats:
        await db.write(lambda c: store_events.save_heat(c, heats, now))
    await db.write(lambda c: store_events.prune_heat(c, now))
    return len(heats)


async def after_judging(db: Database, judged_ids: list[int], now: datetime) -> None:
    if judged_ids:
        await db.write(lambda c: store_events.refresh_titles(c, judged_ids, now))
    await refresh_heat(db, now)
