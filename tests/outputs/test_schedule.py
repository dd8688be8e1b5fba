"""The report schedule in the runner: due after NEWSDESK_DAILY_HOUR, composed once, never empty."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select, update

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


def test_a_report_made_while_stories_await_the_editor_is_made_again(desk) -> None:
    """A pass killed mid-judging, or a call held, leaves stories judged by the rules in the
    model's place; the reports of their days are provisional until the model's verdict is in,
    then made again, so a resumed desk ends with an uninterrupted desk's reports."""
    without_reports(desk)
    settings = demo_settings(daily_hour=8)
    on_time = datetime(2025, 11, 25, 8, 30, tzinfo=UTC)
    i = t.items.c
    with desk.read() as conn:
        story, title = conn.execute(
            select(i.id, i.title).where(i.tier.in_(("p1", "featured")),
                                        i.filed_at >= datetime(2025, 11, 24, tzinfo=UTC))
        ).first()  # fmt: skip
    held = "held: the model's answer to an earlier call is not known yet"
    desk.write_sync(lambda c: c.execute(update(t.items).where(i.id == story)
                                        .values(judge_error=held)))  # fmt: skip

    made = asyncio.run(scheduled_reports(desk, settings, on_time))
    daily = next(r for r in made if r["kind"] == "daily")
    assert daily["period"] == "2025-11-24" and daily["data"]["provisional"]
    assert all(not r["data"].get("provisional") for r in made if r is not daily)

    # the model's verdict arrives: the next schedule makes that brief again, final, and only it
    desk.write_sync(lambda c: c.execute(update(t.items).where(i.id == story)
                                        .values(judge_error=None)))  # fmt: skip
    again = asyncio.run(scheduled_reports(desk, settings, on_time))
    assert [(r["kind"], r["period"]) for r in again] == [("daily", "2025-11-24")]
    assert "provisional" not in again[0]["data"] and title in again[0]["markdown"]
    assert asyncio.run(scheduled_reports(desk, settings, on_time)) == []


def test_a_week_with_a_story_awaiting_the_editor_is_made_again_with_its_days(desk) -> None:
    """The crash test's case: a story of last week still without a verdict when the weekly
    report was due; once judged, the week and the brief of its day are made."""
    without_reports(desk)
    settings = demo_settings(daily_hour=8)
    on_time = datetime(2025, 11, 25, 8, 30, tzinfo=UTC)
    i = t.items.c
    with desk.read() as conn:
        story, judgement, day = conn.execute(
            select(i.id, i.judgement_id, i.filed_at).where(
                i.tier.in_(("p1", "featured")),
                i.filed_at >= datetime(2025, 11, 17, tzinfo=UTC),
                i.filed_at < datetime(2025, 11, 24, tzinfo=UTC),
            )
        ).first()
    desk.write_sync(lambda c: c.execute(update(t.items).where(i.id == story)
                                        .values(judgement_id=None)))  # fmt: skip
    made = asyncio.run(scheduled_reports(desk, settings, on_time))
    # the week is left unmade or provisional (here its only stories were that day's)
    assert all(r["data"].get("provisional") for r in made if r["kind"] == "weekly")

    desk.write_sync(lambda c: c.execute(update(t.items).where(i.id == story)
                                        .values(judgement_id=judgement)))  # fmt: skip
    again = asyncio.run(scheduled_reports(desk, settings, on_time))
    assert [(r["kind"], r["period"]) for r in again] == [("weekly", "2025-11-17")]
    assert "provisional" not in again[0]["data"]
    with desk.read() as conn:
        brief = conn.execute(
            select(t.reports.c.data).where(t.reports.c.kind == "daily",
                                           t.reports.c.period == day.date().isoformat())
        ).scalar_one()  # fmt: skip
    assert "provisional" not in brief and story in [e["item_id"] for e in brief["entries"]]
