"""Scale-out commands: `newsdesk worker` and `newsdesk queue status|retry|cancel`."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from newsdesk.cli.common import UserError, friendly_errors, out, settings_for
from newsdesk.config import Settings
from newsdesk.runner.app import catalog_for, open_database
from newsdesk.store import queue as store_queue
from newsdesk.store.db import Database

app = typer.Typer()
queue_app = typer.Typer(help="Inspect and steer the job queue (PostgreSQL).", no_args_is_help=True)

NEEDS_POSTGRES = (
    "workers need PostgreSQL: set NEWSDESK_DATABASE_URL=postgresql://user@host/dbname "
    "(the single-process desk, `newsdesk up`, needs no worker)"
)


def _postgres(settings: Settings) -> Database:
    if not settings.effective_database_url.startswith(("postgresql", "postgres://")):
        raise UserError(NEEDS_POSTGRES)
    return open_database(settings)


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option("--queues", help="Comma-separated queues: collect,editor,events,outputs.")
    ] = "collect,editor,events,outputs",
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Tasks this worker runs at once.")
    ] = 8,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info (every job), warning or error.")
    ] = "warning",
) -> None:
    """Run a Procrastinate worker (PostgreSQL): it takes steps from the queues until SIGTERM,
    which lets the running tasks finish."""
    from newsdesk.runner.policy import active_policy
    from newsdesk.runner.worker import ALL_QUEUES, run_worker

    with friendly_errors():
        if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise UserError(f"unknown log level {log_level!r}; use debug, info, warning or error")
        logging.basicConfig(level=log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
        settings = settings_for()
        wanted = [q.strip() for q in queues.split(",") if q.strip()]
        unknown = sorted(set(wanted) - set(ALL_QUEUES))
        if unknown:
            raise UserError(f"unknown queue {', '.join(unknown)}; queues: {', '.join(ALL_QUEUES)}")
        db = _postgres(settings)
        try:
            out.print(f"newsdesk worker on {', '.join(wanted)} ({concurrency} at once), "
                      f"database {db.safe_url}")  # fmt: skip
            policy = active_policy(db, settings)
            asyncio.run(run_worker(db, settings, policy, queues=wanted, concurrency=concurrency,
                                   catalog=lambda: catalog_for(settings, None)))  # fmt: skip
        finally:
            db.close()


@queue_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Jobs per queue by state, stalled jobs, the oldest waiting job's age, a budget pause."""
    with friendly_errors():
        settings = settings_for()
        db = _postgres(settings)
        try:
            with db.read() as conn:
                found = store_queue.status(conn, settings.worker_stalled_seconds)
        finally:
            db.close()
    if as_json:
        print(json.dumps(found))
        return
    table = Table(title="newsdesk queue", header_style="bold")
    for column in ("queue", *store_queue.STATES):
        table.add_column(column, justify="left" if column == "queue" else "right")
    for name, states in found["queues"].items():
        table.add_row(name, *(str(states.get(s, 0)) for s in store_queue.STATES))
    out.print(table)
    out.print(f"stalled: {found['stalled']}   oldest waiting: {found['oldest_todo_seconds']:.0f} s")
    if found["paused"]:
        out.print(f"[yellow]model steps paused: {found['paused']}[/]", highlight=False)


def _failed(db: Database, queue: str | None, ids: list[int]) -> list[int]:
    with db.read() as conn:
        found = [r.id for r in store_queue.failed_jobs(conn, queue)]
    return [i for i in found if not ids or i in ids]


@queue_app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Job ids (default: all failed).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue.")] = None,
) -> None:
    """Put failed jobs back in the queue, to run now."""
    from newsdesk.runner.worker import make_app

    with friendly_errors():
        settings = settings_for()
        db = _postgres(settings)
        try:
            chosen = _failed(db, queue, ids or [])

            async def go() -> None:
                async with make_app(settings).open_async() as app:
                    for job_id in chosen:
                        await app.job_manager.retry_job_by_id_async(job_id, datetime.now(UTC))

            asyncio.run(go())
        finally:
            db.close()
    out.print(f"{len(chosen)} failed job(s) back in the queue")


@queue_app.command("cancel")
def cancel(
    ids: Annotated[list[int] | None, typer.Argument(help="Job ids (default: all failed).")] = None,
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue.")] = None,
) -> None:
    """Drop failed jobs. Work they did not do stays pending: the next sweep queues it again."""
    with friendly_errors():
        db = _postgres(settings_for())
        try:
            chosen = _failed(db, queue, ids or [])
            db.write_sync(lambda c: store_queue.drop_jobs(c, chosen))
        finally:
            db.close()
    out.print(f"{len(chosen)} failed job(s) dropped")
