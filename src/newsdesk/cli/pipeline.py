"""Pipeline commands: run, up, web."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from newsdesk.cli.common import (
    DemoOption,
    UserError,
    friendly_errors,
    out,
    say_error,
    settings_for,
)
from newsdesk.config import Settings
from newsdesk.runner.app import catalog_for, open_database
from newsdesk.store.db import Database, StorageFailure

if TYPE_CHECKING:
    from newsdesk.runner.local import RunSummary

app = typer.Typer()


class RichProgress:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, int] = {}

    def start(self, stage: str, total: int) -> None:
        self._tasks[stage] = self._progress.add_task(stage, total=total)

    def advance(self, stage: str, n: int = 1) -> None:
        self._progress.advance(self._tasks[stage], n)


def _print_summary(summary: RunSummary) -> None:
    table = Table(title="newsdesk run", show_header=True, header_style="bold")
    table.add_column("step")
    table.add_column("result", overflow="fold")
    table.add_row("sources", f"{summary.sources} polled, {summary.fetched} fetched, "
                  f"{summary.not_modified} not modified, {len(summary.failed)} failed")  # fmt: skip
    for source_id, code in sorted(summary.failed.items()):
        table.add_row("", f"[red]{escape(source_id)}: {code}[/]")
    outcomes = ", ".join(f"{n} {k}" for k, n in sorted(summary.outcomes.items())) or "none"
    table.add_row("entries", f"{summary.entries} read → {outcomes}")
    if summary.transcripts:
        found = ", ".join(f"{n} {k}" for k, n in sorted(summary.transcripts.items()))
        table.add_row("transcripts", f"episodes and videos looked at: {found}")
    embed = f"{summary.embedded} stories given a vector"
    if summary.embed_failed:
        embed += " (the embeddings endpoint failed; grouping used the vectors there were)"
    table.add_row("embed", embed)
    table.add_row("group", f"{summary.grouped} stories placed, {summary.events_created} new events"
                  + (f", {summary.regrouped} placed again as the model now answered"
                     if summary.regrouped else ""))  # fmt: skip
    tiers = ", ".join(f"{n} {k}" for k, n in sorted(summary.tiers.items())) or "none"
    table.add_row("judge", f"{summary.judged} judged ({tiers}), {summary.judge_failed} failed"
                  + (f", {summary.second_opinions} second opinions" if summary.second_opinions
                     else ""))  # fmt: skip
    by_rules = summary.judged_by_rules + summary.events_by_rules
    if summary.model_down or by_rules:
        why = escape(summary.model_down) if summary.model_down else "the model failed"
        table.add_row("model", f"[yellow]{why}[/]; {by_rules} stories and events judged by the "
                      "rules editor meanwhile (shown so on their cards), judged again by the "
                      "model on the next pass")  # fmt: skip
    if summary.commented or summary.comment_failed:
        table.add_row("comment", f"{summary.commented} written, {summary.comment_failed} failed")
    if summary.paused:
        table.add_row("paused", f"[yellow]{summary.paused}[/]")
    table.add_row("time", f"{summary.seconds:.1f} s")
    out.print(table)
    if summary.model_failed:
        say_error(f"{summary.model_failed}; every model call failed")


def _quiet_storage_failures(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # When the database fails, every story's task in flight fails the same way; the first
    # failure ends the pass and is reported once, the others are not news.
    if not isinstance(context.get("exception"), StorageFailure):
        loop.default_exception_handler(context)


async def _one_pass(db: Database, settings: Settings, demo_base: str | None) -> RunSummary:
    # the whole pipeline (grouping's scipy, apprise, the model client): only when a pass runs
    from newsdesk.runner.local import run_once
    from newsdesk.runner.policy import active_policy, run_policy_jobs

    asyncio.get_running_loop().set_exception_handler(_quiet_storage_failures)
    await run_policy_jobs(db, settings)  # proposals and previews asked for in the admin
    policy = active_policy(db, settings)  # the version editors activated (the file seeds it)
    catalog = catalog_for(settings, demo_base)
    columns = (TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=out, transient=not out.is_terminal) as progress:
        return await run_once(
            db, settings, policy, catalog=catalog, demo=demo_base is not None,
            progress=RichProgress(progress),
        )  # fmt: skip


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over every stage, then exit.")
    ] = False,
    demo: DemoOption = False,
) -> None:
    """Run the pipeline: collect, normalize, group, judge. Loops unless --once."""
    with friendly_errors():
        settings = settings_for(demo)
        db = open_database(settings)
        try:
            with _demo_server(demo) as base:
                if once:
                    summary = asyncio.run(_one_pass(db, settings, base))
                    _print_summary(summary)
                    if summary.model_failed:
                        # The desk is not empty (the rules judged), but the operator has a
                        # problem to fix: it was said in one line; the exit code says it too.
                        raise typer.Exit(1)
                    return
                asyncio.run(_loop(db, settings, base))
        finally:
            db.close()


async def _pass_in_loop(db: Database, settings: Settings, base: str | None) -> None:
    """One pass of a long-running command: a full disk or a lost database server ends this
    pass with one line, and the next pass tries again (it resumes from what was stored)."""
    try:
        _print_summary(await _one_pass(db, settings, base))
    except StorageFailure as exc:
        say_error(f"{exc}; next pass in {settings.run_interval_minutes} minutes")


async def _loop(db: Database, settings: Settings, base: str | None) -> None:
    while True:
        await _pass_in_loop(db, settings, base)
        await asyncio.sleep(settings.run_interval_minutes * 60)


@contextlib.contextmanager
def _demo_server(demo: bool) -> Iterator[str | None]:
    from newsdesk.runner.demo import DemoFeedServer

    if not demo:
        yield None
        return
    with DemoFeedServer() as base:
        yield base


def _check_port(host: str, port: int) -> None:
    """Refuse early, in one line, when the port is taken (uvicorn would print a traceback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(
                    f"port {port} on {host} is already in use; stop the other server or set "
                    "NEWSDESK_PORT to a free port"
                ) from None
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


async def _serve(db: Database, settings: Settings, base: str | None, pipeline: bool) -> None:
    import uvicorn

    from newsdesk.web.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            # the peer stays the socket's: X-Forwarded-For is read only from the proxies
            # NEWSDESK_TRUSTED_PROXIES names (web/throttle.py), not from any local process
            proxy_headers=False,
        )
    )
    web = asyncio.create_task(server.serve())
    url = f"http://{settings.host}:{settings.port}/"
    out.print(f"newsdesk is serving the desk at [bold]{url}[/]  (Ctrl-C stops it)")
    try:
        while pipeline and not web.done():
            await asyncio.sleep(settings.run_interval_minutes * 60)
            await _pass_in_loop(db, settings, base)
        await web
    finally:
        server.should_exit = True


@app.command()
def up(demo: DemoOption = False) -> None:
    """Run one pass of the pipeline, then serve the desk and keep it fresh."""
    with friendly_errors():
        settings = settings_for(demo)
        _check_port(settings.host, settings.port)
        db = open_database(settings)
        try:
            with _demo_server(demo) as base:
                asyncio.run(_pass_in_loop(db, settings, base))  # the desk serves regardless
                with contextlib.suppress(KeyboardInterrupt):
                    asyncio.run(_serve(db, settings, base, pipeline=True))
        finally:
            db.close()


@app.command()
def web(
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, help="Server processes sharing the port (stateless)."),
    ] = 1,
    demo: Annotated[
        bool, typer.Option("--demo", help="Read the desk on the demo snapshot's clock.")
    ] = False,
) -> None:
    """Serve the desk only; workers elsewhere keep it fresh."""
    with friendly_errors():
        settings = settings_for(demo)
        _check_port(settings.host, settings.port)
        db = open_database(settings)  # migrations run once here, before any server process
        if workers > 1:
            if demo:  # each server process reads its settings from the environment
                import os

                os.environ["NEWSDESK_DEMO"] = "true"
            db.close()
            _serve_processes(settings, workers)
            return
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(_serve(db, settings, None, pipeline=False))
        finally:
            db.close()


def _serve_processes(settings: Settings, workers: int) -> None:
    """Several server processes on one port (uvicorn's supervisor): each builds its own app
    and connection pool from the environment. Sessions live in the database, so any process
    answers any request; the micro-cache is per process. Metrics of all processes are added
    up through a shared PROMETHEUS_MULTIPROC_DIR (made here when the operator set none)."""
    import os
    import tempfile

    import uvicorn

    from newsdesk.web.app import SUPERVISOR_ENV

    os.environ[SUPERVISOR_ENV] = str(os.getpid())  # its server processes end with it
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="newsdesk-metrics-")
    # Server processes are spawned; spawn re-runs the parent's main script in each child, and
    # the console script (a file without .py) makes them die at start. They need nothing from
    # it: the app comes from its import string.
    import __main__

    __main__.__dict__.pop("__file__", None)
    url = f"http://{settings.host}:{settings.port}/"
    out.print(f"newsdesk is serving the desk at [bold]{url}[/] with {workers} processes")
    uvicorn.run("newsdesk.web.app:create_app_from_env", factory=True, host=settings.host,
                port=settings.port, workers=workers, log_level="warning")  # fmt: skip
