"""The MCP server: the desk's read tools for agents (official `mcp` SDK 2.x, `MCPServer`).

Served over streamable HTTP at /mcp by the web app and over stdio by `newsdesk mcp`. Every tool
reads through the public read layer and answers Markdown in which source text is fenced as
untrusted (see publish/agents.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import date as iso_date
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from newsdesk import __version__
from newsdesk.config import Settings
from newsdesk.publish import agents
from newsdesk.publish.reports import get_report, latest_report
from newsdesk.store.db import Database

MAX_LIMIT = 50


def _limit(n: int) -> int:
    return max(1, min(int(n), MAX_LIMIT))


def build_server(db: Database, settings: Settings) -> MCPServer:
    base, tz = settings.base_url, settings.timezone
    server: MCPServer = MCPServer(
        name="newsdesk",
        version=__version__,
        instructions="An AI-news desk. " + agents.NOTICE,
    )

    @server.tool()
    def latest(limit: int = 10) -> str:
        """The newest P1 and featured stories, with summaries and links."""
        with db.read() as conn:
            return agents.latest_md(conn, base, _limit(limit), tz)

    @server.tool()
    def search(query: str, limit: int = 10) -> str:
        """Search public stories by words and meaning, best match first: a description in other
        words or in another language (English, Chinese) finds the story too."""
        with db.read() as conn:
            return agents.search_md(conn, base, query, _limit(limit), tz)

    @server.tool()
    def hot_events(limit: int = 10) -> str:
        """Events (stories grouped across sources), hottest first, each with its Markdown link."""
        with db.read() as conn:
            return agents.hot_events_md(conn, base, _limit(limit), tz)

    @server.tool()
    def event(id: int) -> str:
        """One public event: its lead story in full and its coverage, oldest first."""
        with db.read() as conn:
            return agents.event_md(conn, base, id, tz)

    @server.tool()
    def item(id: int) -> str:
        """One public story in full: summary, why it matters, editor take and analysis."""
        with db.read() as conn:
            return agents.item_md(conn, base, id, tz)

    @server.tool()
    def daily_brief(date: str = "") -> str:
        """The daily brief for a day (YYYY-MM-DD); empty for the latest one."""
        with db.read() as conn:
            if date:
                try:
                    iso_date.fromisoformat(date)
                except ValueError:
                    return "date must be YYYY-MM-DD"
                report = get_report(conn, "daily", date)
            else:
                report = latest_report(conn, "daily")
        if report is None:
            return "No daily brief has been composed for that day."
        return f"{agents.NOTICE}\n\n{agents.fence(report['markdown'])}"

    return server


def http_routes(server: MCPServer) -> tuple[list[Any], Callable[[], Any]]:
    """Routes for /mcp and the lifespan that runs the session manager behind them.

    Stateless JSON mode: each POST is answered on its own, so any web worker can take it. The
    SDK's DNS-rebinding guard is for servers bound to localhost with no other protection; the
    desk sets its own host and guards /mcp with the API token and rate limit instead.
    """
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    return list(app.routes), running
