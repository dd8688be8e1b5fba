"""Reports wiring: store → reports stage → store, and the daily/weekly/monthly schedule.

A brief for day D covers the stories filed on D in NEWSDESK_TIMEZONE (backfill included, since
backfill is filed at its own date). The schedule composes it once D is over and the local clock
has passed NEWSDESK_DAILY_HOUR; the weekly report follows the last complete week (Monday to
Sunday) and the monthly the last complete month, each compiled from the dailies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from newsdesk.config import Settings
from newsdesk.reports.brief import Candidate, Earlier, compose_daily
from newsdesk.reports.overview import OverviewModel, write_overview
from newsdesk.reports.periodic import compile_period, month_of, week_of
from newsdesk.reports.render import render_markdown
from newsdesk.store import outputs
from newsdesk.store.db import Database


def day_window(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _candidate(row: dict[str, Any]) -> Candidate:
    tags = row["tags"] or {}
    return Candidate(
        item_id=row["id"],
        event_id=row["event_id"],
        title=row["title_en"] or row["title"],
        summary=row["summary_en"] or "",
        url=row["url"],
        source_id=row["source_id"],
        source_name=row["source_name"],
        tier=row["tier"],
        importance=int(row["importance"] or 0),
        coverage=int(row["sources_count"] or 1),
        first_party=row["source_tier"] == "T1",
        tags=tuple(
            tags.get("capabilities", []) + tags.get("entities", []) + tags.get("topics", [])
        ),
        topic=(tags.get("topics") or [""])[0],
    )


def _earlier(dailies: list[dict[str, Any]]) -> Earlier:
    events: set[int] = set()
    items: set[int] = set()
    for data in dailies:
        for e in [*data.get("entries", []), *data.get("flashes", [])]:
            items.add(int(e["item_id"]))
            if e.get("event_id") is not None:
                events.add(int(e["event_id"]))
    return Earlier(frozenset(events), frozenset(items))


async def build_daily(
    db: Database, settings: Settings, day: date, keep_empty: bool = True
) -> dict[str, Any]:
    """Compose, store and return the daily brief of a day (replacing a stored one)."""
    start, end = day_window(day, settings.timezone)

    def load(conn: Any) -> tuple[Any, Any, int]:
        since = (day - timedelta(days=7)).isoformat()
        return (outputs.brief_candidates(conn, start, end),
                outputs.briefed_since(conn, since, day.isoformat()),
                outputs.awaiting_judgement(conn, start, end))  # fmt: skip

    rows, earlier, awaiting = await db.read_async(load)
    data = compose_daily(day, [_candidate(r) for r in rows], _earlier(earlier)).data()
    if awaiting:
        data["provisional"] = True
    return await _store(db, settings, "daily", day.isoformat(), data, keep_empty)


async def build_period(
    db: Database,
    settings: Settings,
    kind: str,
    day: date,
    keep_empty: bool = True,
    model: OverviewModel | None = None,
) -> dict[str, Any]:
    """Compile the weekly or monthly report around a day from its dailies (composing any
    daily that is missing, from the stories filed that day). With a model, the overview and
    section intros are written and guarded; without one they stay None."""
    start, end = week_of(day) if kind == "weekly" else month_of(day)
    found = await db.read_async(
        lambda c: outputs.list_reports(c, "daily", 62, start.isoformat(), end.isoformat())
    )
    stored = {r["period"]: r["data"] for r in found}
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    dailies = []
    current = start
    while current <= min(end, today):
        data = stored.get(current.isoformat())
        if data is None or data.get("provisional"):
            # A by-product daily is stored only when it has entries: quiet days leave no trace.
            data = (await build_daily(db, settings, current, keep_empty=False))["data"]
        dailies.append(data)
        current += timedelta(days=1)
    data = compile_period(kind, start, end, dailies)
    if any(d.get("provisional") for d in dailies):
        data["provisional"] = True  # rebuilt when its stories are judged; no overview paid yet
    elif model is not None:
        data = await write_overview(data, model.write, model.check)
    return await _store(db, settings, kind, start.isoformat(), data, keep_empty)


async def build_report(
    db: Database,
    settings: Settings,
    kind: str,
    day: date,
    keep_empty: bool = True,
    model: OverviewModel | None = None,
) -> dict[str, Any]:
    """Compose and store a report; with keep_empty=False an empty one is returned, not stored.
    The daily brief never calls a model; `model` serves weekly and monthly overviews."""
    if kind == "daily":
        return await build_daily(db, settings, day, keep_empty)
    return await build_period(db, settings, kind, day, keep_empty, model)


async def _store(
    db: Database, settings: Settings, kind: str, period: str, data: dict[str, Any],
    keep_empty: bool = True,
) -> dict[str, Any]:  # fmt: skip
    markdown = render_markdown(data, settings.base_url)
    now = datetime.now(UTC)
    stored = bool(keep_empty or data["entries"])
    if stored:
        await db.write(lambda c: outputs.save_report(c, kind, period, markdown, data, now))
    return {"kind": kind, "period": period, "markdown": markdown, "data": data, "stored": stored}


async def scheduled_reports(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    model: OverviewModel | None = None,
    through_today: bool = False,
) -> list[dict[str, Any]]:
    """The schedule hook: compose whatever report is due and missing. Returns what it made.
    `through_today` also composes today's brief: the demo's snapshot ends on its clock's day,
    so that day is as complete as it will ever be."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(settings.timezone))
    if local.hour < settings.daily_hour:
        return []
    yesterday = local.date() - timedelta(days=1)
    last_week = week_of(local.date() - timedelta(days=7))[0]
    last_month = month_of(local.date().replace(day=1) - timedelta(days=1))[0]
    due = [("daily", yesterday, yesterday), ("weekly", last_week, last_week),
           ("monthly", last_month, last_month)]  # fmt: skip
    if through_today:
        due.insert(1, ("daily", local.date(), local.date()))
    made = []
    for kind, period, day in due:
        found = await db.read_async(
            lambda c, k=kind, p=period: outputs.get_report(c, k, p.isoformat())
        )
        # A provisional report was made while some of its stories waited for the editor's
        # verdict (a pass killed mid-judging, a call held or failed): made again until none do,
        # so a resumed desk ends with the reports an uninterrupted one has.
        exists = found is not None and not found["data"].get("provisional")
        if not exists:
            # The schedule stores no empty report: a quiet day (or a new desk) leaves no trace.
            report = await build_report(db, settings, kind, day, keep_empty=False, model=model)
            if report["stored"]:
                made.append(report)
    return made
