"""A micro-cache for what anonymous readers see.

The desk changes when the pipeline writes (every few minutes), while readers ask for the same
few pages many times a second. Keeping a rendered answer for a few seconds turns that load into
one render per page per interval. Only anonymous GETs of public pages (Hot, All, tags, stories,
events, sources) and the item API are kept; a request with a session cookie, a response that
sets a cookie, or anything but a 200 is never cached. `NEWSDESK_PAGE_CACHE_SECONDS=0` turns it off.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

Scope = dict[str, Any]
Key = tuple[str, bytes, bytes]
Entry = tuple[float, Any, bytes]  # when kept, the response start message, the body
CACHEABLE_PREFIXES = ("/all", "/tags/", "/items/", "/events", "/sources", "/api/v1/items")
SESSION_COOKIE = b"nd_session="


def cacheable(path: str) -> bool:
    return path == "/" or path.startswith(CACHEABLE_PREFIXES)


class MicroCache:
    """ASGI middleware: at most `max_entries` answers, each for `ttl` seconds."""

    def __init__(self, app: Any, ttl: float, max_entries: int = 512) -> None:
        self.app, self.ttl, self.max_entries = app, ttl, max_entries
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.pending: dict[Key, asyncio.Future[Entry | None]] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            self.ttl <= 0
            or scope["type"] != "http"
            or scope["method"] != "GET"
            or not cacheable(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if SESSION_COOKIE in headers.get(b"cookie", b""):
            await self.app(scope, receive, send)  # editors see their own state, never a copy
            return
        key = (scope["path"], scope["query_string"], headers.get(b"hx-request", b""))
        now = time.monotonic()
        hit = self.entries.get(key)
        if hit and now - hit[0] < self.ttl:
            self.entries.move_to_end(key)
            await send(hit[1])
            await send({"type": "http.response.body", "body": hit[2]})
            return
        # One render per key at a time: when an entry expires under load, the requests that
        # arrive while it is re-rendered wait for that answer instead of rendering it again.
        waiting = self.pending.get(key)
        if waiting is not None:
            entry = await asyncio.shield(waiting)
            if entry is not None:
                await send(entry[1])
                await send({"type": "http.response.body", "body": entry[2]})
            else:  # the first answer could not be kept (an error, a cookie): render our own
                await self.app(scope, receive, send)
            return
        future: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        entry = None
        try:
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def capture(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                await send(message)

            await self.app(scope, receive, capture)
            names = {name.lower() for name, _ in start.get("headers", [])}
            if start.get("status") == 200 and b"set-cookie" not in names:
                entry = (now, start, b"".join(chunks))
                self.entries[key] = entry
                self.entries.move_to_end(key)
                while len(self.entries) > self.max_entries:
                    self.entries.popitem(last=False)
        finally:
            del self.pending[key]
            future.set_result(entry)
