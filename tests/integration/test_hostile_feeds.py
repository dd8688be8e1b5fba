"""Hostile inputs (point 8b): each ends as a recorded error code or sanitised content, within
its timeout, and the good source in the same run still lands its items. Both engines."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import brotli
from sqlalchemy import select

from conftest import Route
from newsdesk.config import load_settings
from newsdesk.domain import Source
from newsdesk.policy import load_policy
from newsdesk.runner.local import run_once
from newsdesk.store import schema as t
from newsdesk.store.repo import list_source_rows

# items carry a recent date: a first import keeps only dated items of the last 12 months
RECENT = format_datetime(datetime.now(UTC) - timedelta(hours=2), usegmt=True).encode()
GOOD = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Good</title><link>https://good.example.com/</link>
<item><title>Good one &lt;script&gt;alert(1)&lt;/script&gt;</title>
<link>https://good.example.com/one</link><guid>g1</guid><pubDate>@DATE@</pubDate>
<description><![CDATA[<p onclick="steal()">Hello <script>alert('x')</script>
<img src="https://good.example.com/a.png" onerror="steal()">
<a href="javascript:alert(1)">click</a> <a href="https://good.example.com/ok">fine</a></p>]]>
</description></item>
<item><title>Good two</title><link>https://good.example.com/two</link><guid>g2</guid>
<pubDate>@DATE@</pubDate>
<description>Plain.</description></item>
</channel></rss>""".replace(b"@DATE@", RECENT)

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>x</title>
<item><title>Leak &xxe;</title><link>https://xxe.example.com/1</link>
<description>&xxe;</description><pubDate>@DATE@</pubDate></item></channel></rss>""".replace(
    b"@DATE@", RECENT
)

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<rss version="2.0"><channel><title>lol</title>
<item><title>&lol9;</title><link>https://lol.example.com/1</link><pubDate>@DATE@</pubDate>
</item></channel></rss>""".replace(b"@DATE@", RECENT)

# Latin-1 bytes with no encoding declared anywhere (neither XML nor HTTP)
LATIN1 = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Caf\xe9</title>'
    "<item><title>Caf\xe9 cr\xe8me</title><link>https://latin.example.com/1</link>"
    f"<pubDate>{RECENT.decode()}</pubDate></item>"
    "</channel></rss>"
).encode("latin-1")


def _raw(status: int, body: bytes, **headers: str):
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)

    return handler


def _huge_undeclared(h: BaseHTTPRequestHandler) -> None:
    # 50 MB, no Content-Length: the cap must stop the stream, not the header check
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.end_headers()
    chunk = b"<item>" + b"x" * (1024 * 1024) + b"</item>"
    try:
        for _ in range(50):
            h.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass


def _trickle(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "1000000")
    h.end_headers()
    try:
        for _ in range(600):
            h.wfile.write(b"<")
            h.wfile.flush()
            time.sleep(0.1)
    except (BrokenPipeError, ConnectionResetError):
        pass


def _loop(h: BaseHTTPRequestHandler) -> None:
    h.send_response(302)
    h.send_header("Location", "/loop-b" if h.path == "/loop-a" else "/loop-a")
    h.send_header("Content-Length", "0")
    h.end_headers()


JSON_FEED = json.dumps({
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON lab",
    "items": [{"id": "j1", "url": "https://json.example.com/1", "title": "JSON one",
               "content_html": "<p>Hi<script>alert(1)</script></p>",
               "date_published": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
              # once enough to stop the whole pass: an unreadable URL, a "²" date
              {"id": "j2", "url": "http://[x/", "title": "odd URL"},
              {"id": 3, "url": "https://json.example.com/3", "title": "odd date",
               "date_published": "\u00b2"},
              # NUL characters, which PostgreSQL text refuses, in every field
              {"id": "j\u00004", "url": "https://json.example.com/4\u0000x", "title": "N\u0000UL",
               "content_html": "<p>a\u0000b</p>", "authors": [{"name": "A\u0000da"}],
               "tags": ["t\u0000ag"], "date_published": (datetime.now(UTC)).isoformat()}],
}).encode()  # fmt: skip

# links and guids far longer than any index wants (5,000 characters)
LONG_LINK = (
    GOOD.replace(b"good.example.com/one", b"long-link.example.com/" + b"a" * 5000)
    .replace(b"<guid>g2</guid>", b"<guid>" + b"g" * 5000 + b"</guid>")
    .replace(b"https://good.example.com/two", b"")
)

# a whole article (here 2 MB) in <title>
HUGE_TITLE = GOOD.replace(b"Good two", b"Long " * 400_000).replace(b"good.", b"long.")


def hostile_catalog(server) -> list[Source]:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), 1)
    routes = {
        "good": Route(GOOD),
        "malformed": Route(b"<rss><channel><item><title>Broken</titl"),
        "html": Route(b"<!doctype html><html><body><p>Just a page</p></body></html>"),
        "declared-50mb": Route(handler=_raw(200, b"", Content_Length=str(50 * 1024 * 1024))),
        "huge": Route(handler=_huge_undeclared),
        "trickle": Route(handler=_trickle),
        "gzip-bomb": Route(
            handler=_raw(200, bomb, Content_Encoding="gzip", Content_Length=str(len(bomb)))
        ),
        "loop-a": Route(handler=_loop),
        "loop-b": Route(handler=_loop),
        "missing": Route(b"gone", status=404),
        "broken": Route(b"oops", status=500),
        "throttled": Route(b"slow down", status=429, headers={"Retry-After": "3600"}),
        "latin1": Route(LATIN1),
        "xxe": Route(XXE),
        "laughs": Route(LAUGHS),
        "json-feed": Route(JSON_FEED, headers={"Content-Type": "application/feed+json"}),
        "json-deep": Route(b'{"items":' + b"[" * 200_000),
        "no-location": Route(handler=_raw(302, b"", Content_Length="0")),
        "bad-location": Route(handler=_raw(302, b"", Location="http://[x/", Content_Length="0")),
        "huge-title": Route(HUGE_TITLE),
        "long-link": Route(LONG_LINK),
        "brotli": Route(
            handler=_raw(
                200, brotli.compress(GOOD.replace(b"good.", b"br.")), Content_Encoding="br"
            )
        ),
    }
    sources = []
    for name, route in routes.items():
        url = server.add(f"/{name}", route)
        if name != "loop-b":
            sources.append(Source(id=name, name=name, url=url))
    return sources


async def test_hostile_feeds_end_as_codes_or_clean_content(db, server) -> None:
    settings = load_settings(
        allow_private_urls=True, fetch_timeout_seconds=5, fulltext_enabled=False
    )
    started = time.monotonic()
    async with asyncio.timeout(60):  # nothing hangs the run
        summary = await run_once(db, settings, load_policy(), catalog=hostile_catalog(server))
    assert time.monotonic() - started < 45

    assert summary.failed == {
        "html": "not_a_feed",
        "declared-50mb": "too_large",
        "huge": "too_large",
        "trickle": "timeout",
        "gzip-bomb": "too_large",
        "loop-a": "redirect_loop",
        "missing": "http_4xx",
        "broken": "http_5xx",
        "throttled": "rate_limited",
        "json-deep": "parse_error",
        "no-location": "bad_redirect",
        "bad-location": "bad_redirect",
    }  # malformed XML: feedparser's loose parser recovers what it can, sanitised as usual
    now = datetime.now(UTC)
    with db.read() as conn:
        health = {r.id: r for r in list_source_rows(conn)}
        items = {r.url: r for r in conn.execute(select(t.items))}
        guids = set(conn.execute(select(t.items.c.guid)).scalars())
    # every failure is recorded with a code and a human message
    for source_id, code in summary.failed.items():
        assert health[source_id].last_error_code == code
        assert health[source_id].last_error_message
        assert health[source_id].consecutive_failures == 1
    # Retry-After is a lower bound on the next poll
    assert health["throttled"].next_poll_at >= now + timedelta(minutes=59)

    # the good source landed both items, sanitised
    one = items["https://good.example.com/one"]
    assert "https://good.example.com/two" in items
    assert "<script" not in one.body_html and "onerror" not in one.body_html
    assert "onclick" not in one.body_html and "javascript:" not in one.body_html
    assert 'href="https://good.example.com/ok"' in one.body_html
    assert "alert" not in one.body_text
    assert "<script>" not in one.title  # the escaped tag in the title is text, not markup
    # a JSON Feed lands like any feed, sanitised
    assert "<script" not in items["https://json.example.com/1"].body_html
    nul = next(r for r in items.values() if r.title == "NUL")
    assert "\x00" not in nul.url + nul.guid + str(nul.authors) + str(nul.signals)
    # 5,000-character links and guids land (PostgreSQL's index would refuse them whole)
    assert "https://long-link.example.com/" + "a" * 5000 in items
    assert any(guid.endswith("g" * 5000) for guid in guids)
    # a 2 MB title is cut to a title
    assert len(items["https://long.example.com/two"].title) <= 300
    # brotli-encoded feed decoded
    assert "https://br.example.com/one" in items
    # undeclared Latin-1 decoded, not mojibake
    assert items["https://latin.example.com/1"].title == "Café crème"
    # XXE: the external entity is never resolved
    assert all("root:" not in r.title + r.body_text for r in items.values())
    assert health["xxe"].last_error_code in (None, "not_a_feed")
    # billion laughs: no expansion reaches the store (nor memory: the run finished in time)
    assert all(len(r.title) < 1000 and "lollol" not in r.title for r in items.values())


async def test_an_unforeseen_bug_costs_only_its_source(db, server, monkeypatch) -> None:
    """Every known failure has a code; one nobody foresaw still costs only its source."""
    import newsdesk.runner.collect as local

    real_digest = local.digest_body

    async def digest_or_crash(pool, source, *args, **kwargs):
        if source.id == "cursed":
            raise RuntimeError("a bug this body found")
        return await real_digest(pool, source, *args, **kwargs)

    monkeypatch.setattr(local, "digest_body", digest_or_crash)
    good = Source(id="good", name="good", url=server.add("/good", Route(GOOD)))
    cursed = Source(id="cursed", name="cursed", url=server.add("/cursed", Route(GOOD)))
    settings = load_settings(allow_private_urls=True, fulltext_enabled=False)
    summary = await run_once(db, settings, load_policy(), catalog=[good, cursed])
    assert summary.failed == {"cursed": "internal_error"}
    with db.read() as conn:
        health = {r.id: r for r in list_source_rows(conn)}
        urls = set(conn.execute(select(t.items.c.url)).scalars())
    assert "https://good.example.com/one" in urls
    assert health["cursed"].last_error_message == "unexpected RuntimeError: a bug this body found"
    assert health["cursed"].consecutive_failures == 1 and health["cursed"].next_poll_at
