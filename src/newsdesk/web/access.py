"""Who may read the API: the optional read token, per-client rate limits, CORS.

A pure ASGI middleware (not BaseHTTPMiddleware) so streamed answers, such as MCP's, pass
through untouched. The limits apply to /api/ and /mcp; pages and feeds stay open and cacheable.
"""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from newsdesk.config import Settings
from newsdesk.web.throttle import client_address

GUARDED = ("/api/", "/mcp")
OPEN = ("/api/v1/openapi.json", "/api/v1/docs", "/api/v1/agent.md")
# Paths with a secret of their own, which the read token must not gate: a push source sends
# its own bearer token to /api/ingest (web/ingest.py), never the read token.
OWN_TOKEN = ("/api/ingest",)
NO_READ_TOKEN = OPEN + OWN_TOKEN

Scope = dict[str, Any]


class TokenBuckets:
    """One bucket per client: `rate` requests a minute, refilled continuously."""

    def __init__(self, rate: int, clock: Any = time.monotonic) -> None:
        self.rate, self.clock = rate, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        now = self.clock()
        per_second = self.rate / 60
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - last) * per_second)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 50_000:  # forget idle clients rather than grow forever
                self._buckets.clear()
            return (1 - tokens) / per_second


class ApiAccess:
    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.token = settings.api_read_token.get_secret_value()
        self.buckets = TokenBuckets(settings.api_rate_limit) if settings.api_rate_limit else None
        self.trusted = settings.trusted_proxies

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(GUARDED) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = _token(headers, scope.get("query_string", b"").decode("latin-1"))
        if self.token and path not in NO_READ_TOKEN and not hmac.compare_digest(given, self.token):
            await _json(send, 401, {"error": "this API needs a read token"},
                        [(b"www-authenticate", b'Bearer realm="newsdesk"')])  # fmt: skip
            return
        if self.buckets is not None:
            # per address (tokens are free to make up), as web/throttle.py tells it
            peer = (scope.get("client") or (None,))[0]
            client = client_address(peer, headers.get("x-forwarded-for"), self.trusted)
            wait = self.buckets.take(client)
            if wait > 0:
                retry = str(max(1, math.ceil(wait))).encode()
                await _json(send, 429, {"error": "too many requests; slow down"},
                            [(b"retry-after", retry)])  # fmt: skip
                return
        await self.app(scope, receive, send)


def _token(headers: dict[str, str], query: str) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "token":
            return value
    return ""


async def _json(send: Any, status: int, body: dict[str, str], extra: list[Any]) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": raw})


def install(app: FastAPI, settings: Settings) -> None:
    """Add the access guard and, when NEWSDESK_CORS_ORIGINS is set, CORS for GET requests."""
    app.add_middleware(ApiAccess, settings=settings)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        # Added last so it runs first: preflights get answered before the token check.
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["GET"],
            allow_headers=["Authorization"], max_age=600,
        )  # fmt: skip
