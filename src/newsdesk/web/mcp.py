"""Mount the MCP server at /mcp and run its session manager with the app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from newsdesk.config import Settings
from newsdesk.publish.mcp import build_server, http_routes
from newsdesk.store.db import Database


def install(app: FastAPI, settings: Settings, db: Database) -> None:
    routes, running = http_routes(build_server(db, settings))
    app.router.routes.extend(routes)
    before = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with before(application) as state, running():
            yield state

    app.router.lifespan_context = lifespan
