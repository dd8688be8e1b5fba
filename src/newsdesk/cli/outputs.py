"""Output commands: `newsdesk mcp` (the MCP server over stdio)."""

from __future__ import annotations

import anyio
import typer

from newsdesk.cli.common import friendly_errors, settings_for
from newsdesk.publish.mcp import build_server
from newsdesk.runner.app import open_database

app = typer.Typer()


@app.command()
def mcp() -> None:
    """Serve the desk's MCP tools over stdio (for agents that launch a command)."""
    with friendly_errors():
        settings = settings_for()
        db = open_database(settings)
        try:
            anyio.run(build_server(db, settings).run_stdio_async)
        finally:
            db.close()
