"""Output commands: `newsdesk mcp` (MCP over stdio) and `newsdesk notify test`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

from newsdesk.cli.common import UserError, friendly_errors, out, settings_for

if TYPE_CHECKING:
    from newsdesk.notify import Target

app = typer.Typer()


@app.command()
def mcp() -> None:
    """Serve the desk's MCP tools over stdio (for agents that launch a command)."""
    import anyio

    from newsdesk.publish.mcp import build_server  # the MCP SDK: a second of imports
    from newsdesk.runner.app import open_database

    with friendly_errors():
        settings = settings_for()
        db = open_database(settings)
        try:
            anyio.run(build_server(db, settings).run_stdio_async)
        finally:
            db.close()


notify_app = typer.Typer(help="Notifications (apprise).", no_args_is_help=True)


@notify_app.command("test")
def notify_test() -> None:
    """Send a test message to every target in NEWSDESK_NOTIFY_URLS and report each result."""
    from newsdesk.notify import parse_targets

    with friendly_errors():
        settings = settings_for()
        targets = parse_targets(settings.notify_urls.get_secret_value())
        if not targets:
            raise UserError("NEWSDESK_NOTIFY_URLS is empty: set it to one or more apprise URLs")
        title = "newsdesk test notification"
        body = f"If you can read this, newsdesk at {settings.base_url} can reach this channel."
        results = asyncio.run(_send_all(targets, title, body))
        failed = 0
        for target, error in zip(targets, results, strict=True):
            if error is None:
                out.print(f"[green]sent[/]   {target.label}", highlight=False)
            else:
                failed += 1
                out.print(f"[red]failed[/] {target.label}: {error}", highlight=False)
        if failed:
            raise typer.Exit(1)


async def _send_all(targets: list[Target], title: str, body: str) -> list[str | None]:
    from newsdesk.notify import deliver  # apprise

    return list(await asyncio.gather(*(deliver(t, title, body) for t in targets)))
