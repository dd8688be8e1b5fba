"""GET /metrics: the Prometheus text format (this process's or, in multiprocess mode, every
local process's figures, plus the fleet's figures read from the database)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from newsdesk.metrics import process_registry
from newsdesk.publish.metrics import DeskCollector
from newsdesk.web.deps import database, settings

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    desk = CollectorRegistry()
    desk.register(DeskCollector(database(request), settings(request).worker_stalled_seconds))
    local = process_registry() or REGISTRY
    body = await asyncio.to_thread(lambda: generate_latest(local) + generate_latest(desk))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
