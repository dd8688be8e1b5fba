"""`newsdesk report daily|weekly|monthly [--date YYYY-MM-DD]`: compose, store and print."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from newsdesk.cli.common import UserError, friendly_errors, settings_for
from newsdesk.config import Settings
from newsdesk.runner.app import open_database
from newsdesk.store.db import Database

app = typer.Typer()
plain = Console(highlight=False, soft_wrap=True, markup=False)


class Kind(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


def _parse_day(value: str | None, tz: str) -> date:
    if value is None:
        # Without --date: the last complete day, which is what the schedule would brief.
        return datetime.now(UTC).astimezone(ZoneInfo(tz)).date() - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--date {value!r} is not a date; use YYYY-MM-DD") from None


@app.command()
def report(
    kind: Annotated[Kind, typer.Argument(help="daily, weekly or monthly")],
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="A day in the period (YYYY-MM-DD, in NEWSDESK_TIMEZONE); default: yesterday.",
        ),
    ] = None,
) -> None:
    """Compose a report, store it and print it as Markdown.

    The daily brief is composed by rules alone. Weekly and monthly reports get an overview and
    section intros from the model when one is configured (NEWSDESK_LLM_*), checked by the
    faithfulness guard; without a model they have none.
    """
    with friendly_errors():
        settings = settings_for()
        when = _parse_day(day, settings.timezone)
        db = open_database(settings)
        try:
            result = asyncio.run(_compose(db, settings, kind.value, when))
        finally:
            db.close()
        plain.print(result["markdown"])


async def _compose(db: Database, settings: Settings, kind: str, when: date) -> dict[str, Any]:
    from newsdesk.runner.outputs import report_model
    from newsdesk.runner.reports import build_report

    model = report_model(db, settings) if kind != "daily" else None
    try:
        return await build_report(db, settings, kind, when, model=model)
    finally:
        if model is not None:
            await model.close()
