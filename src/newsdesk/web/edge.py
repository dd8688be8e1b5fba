"""What every request meets first: HEAD answered as GET, and no NUL characters in a URL.

FastAPI routes answer only the methods they declare, so a HEAD from a feed reader or a link
checker got 405. This pure ASGI middleware (streamed answers pass untouched) runs a HEAD as the
GET it stands for and sends the GET's status and headers, Content-Length included, without the
body. /mcp keeps its own methods: a GET there opens a stream.

No tag, source, period or query can hold a NUL (PostgreSQL text refuses it; the collectors
strip it), so a URL that carries one gets a 400 here, on both engines alike, before it can
reach a query.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

NOT_HEAD = ("/mcp",)
NUL_MESSAGE = "a URL cannot hold NUL (%00) characters"

Message = dict[str, Any]


def has_nul(scope: dict[str, Any]) -> bool:
    return "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(
        scope.get("query_string", b"")
    )


class Edge:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD" and not scope.get("path", "").startswith(NOT_HEAD)
        if has_nul(scope):
            await _refuse(send, head)
            return
        if not head:
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: nothing to send for HEAD
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


async def _refuse(send: Any, head: bool) -> None:
    body = json.dumps({"error": NUL_MESSAGE}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
