"""The report schedule in the runner: due after NEWSDESK_DAILY_HOUR, composed once, never empty."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from newsdesk.runner.reports import scheduled_reports
from newsdesk.store import schema as t

from .conftest import demo_settings, without_reports


def stored(db) -> list[tuple[str, str]]:
    with db.read() as conn:
        rows = conn.execute(select(t.reports.c.kind, t.reports.c.period).order_by(t.reports.c.id))
        return [tuple(r) for r in rows]


def test_schedule_composes_due_reports_once(desk) -> None:
    without_reports(desk)
    settings = demo_settings(daily_hour=8)
    # Tuesday 25 November 2025, 07:30: before the hour, nothing is due.
    early = datetime(2025, 11, 25, 7, 30, tzinfo=UTC)
    assert asyncio.run(scheduled_reports(desk, settings, early)) == []
    # 08:30: yesterday's brief, the last complete week's report and October's report.
    on_time = datetime(2025, 11, 25, 8, 30, tzinfo=UTC)
    made = asyncio.run(scheduled_reports(desk, settings, on_time))
    assert [(r["kind"], r["period"]) for r in made] == [
        ("daily", "2025-11-24"), ("weekly", "2025-11-17"), ("monthly", "2025-10-01"),
    ]  # fmt: skip
    assert made[0]["data"]["entries"]
    # The weekly and monthly composed the dailies they needed; quiet days left no report.
    assert ("daily", "2025-11-18") in stored(desk) and ("daily", "2025-11-19") not in stored(desk)
    before = stored(desk)
    assert asyncio.run(scheduled_reports(desk, settings, on_time)) == []
    assert stored(desk) == before


def test_schedule_stores_no_empty_report(desk) -> None:
    without_reports(desk)
    settings = demo_settings()
    quiet = datetime(2030, 6, 2, 12, 0, tzinfo=UTC)  # nothing was filed around then
    assert asyncio.run(scheduled_reports(desk, settings, quiet)) == []
    assert stored(desk) == []
