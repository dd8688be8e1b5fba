"""The micro-cache keeps anonymous public answers for a few seconds and nothing else."""

from __future__ import annotations

import asyncio
from typing import Any

from newsdesk.web.cache import MicroCache


class Counter:
    """A tiny ASGI app that answers with how many times it was called."""

    def __init__(self, status: int = 200, cookie: bool = False) -> None:
        self.calls, self.status, self.cookie = 0, status, cookie

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        headers = [(b"content-type", b"text/plain")]
        if self.cookie:
            headers.append((b"set-cookie", b"x=1"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": str(self.calls).encode()})


def get(app: Any, path: str, cookie: bytes = b"", hx: bool = False) -> bytes:
    headers = [(b"cookie", cookie)] if cookie else []
    if hx:
        headers.append((b"hx-request", b"true"))
    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": headers}
    body: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body.append(message["body"])

    asyncio.run(app(scope, None, send))
    return b"".join(body)


def test_anonymous_pages_are_kept_for_the_ttl() -> None:
    inner = Counter()
    app = MicroCache(inner, ttl=60)
    assert get(app, "/") == b"1" and get(app, "/") == b"1"
    assert get(app, "/", hx=True) == b"2"  # the htmx fragment is its own entry
    assert get(app, "/all") == b"3"


def test_editors_private_pages_errors_and_cookies_are_never_cached() -> None:
    inner = Counter()
    app = MicroCache(inner, ttl=60)
    get(app, "/")
    assert get(app, "/", cookie=b"nd_session=abc") == b"2"
    assert get(app, "/admin/sources") == b"3" and get(app, "/admin/sources") == b"4"
    assert get(app, "/saved") == b"5" and get(app, "/saved") == b"6"
    failing = MicroCache(Counter(status=500), ttl=60)
    assert get(failing, "/") == b"1" and get(failing, "/") == b"2"
    setting = MicroCache(Counter(cookie=True), ttl=60)
    assert get(setting, "/") == b"1" and get(setting, "/") == b"2"


def test_zero_ttl_turns_it_off_and_size_is_bounded() -> None:
    off = MicroCache(Counter(), ttl=0)
    assert get(off, "/") == b"1" and get(off, "/") == b"2"
    small = MicroCache(Counter(), ttl=60, max_entries=2)
    for path in ("/items/1", "/items/2", "/items/3"):
        get(small, path)
    assert len(small.entries) == 2 and get(small, "/items/1") == b"4"


def test_concurrent_misses_render_once() -> None:
    """When an entry is missing or expired, requests arriving during its render wait for it."""

    class Slow(Counter):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await asyncio.sleep(0.05)
            await super().__call__(scope, receive, send)

    async def burst(app: Any, n: int) -> list[bytes]:
        async def one() -> bytes:
            body: list[bytes] = []

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.body":
                    body.append(message["body"])

            scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
                     "headers": []}  # fmt: skip
            await app(scope, None, send)
            return b"".join(body)

        return list(await asyncio.gather(*(one() for _ in range(n))))

    inner = Slow()
    assert asyncio.run(burst(MicroCache(inner, ttl=60), 16)) == [b"1"] * 16
    assert inner.calls == 1
    failing = Slow(status=500)
    assert asyncio.run(burst(MicroCache(failing, ttl=60), 4)) == [b"1", b"2", b"3", b"4"]
