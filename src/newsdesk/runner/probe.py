"""Try a URL as a source without storing anything: `newsdesk sources test|add`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import feedparser

from newsdesk.collect.http import Fetcher
from newsdesk.domain import Entry, Source
from newsdesk.sources.discover import feed_links, looks_like_html
from newsdesk.sources.jsonfeed import json_feed_title, looks_like_json
from newsdesk.sources.kinds import parse_source, poll_url
from newsdesk.sources.rss import NotAFeed


@dataclass
class Probe:
    url: str  # the feed URL that worked (after discovery), or the one tried
    kind: str
    title: str = ""
    entries: list[Entry] = field(default_factory=list)
    discovered_from: str = ""  # the site page whose <link rel=alternate> led to the feed
    http_status: int | None = None
    elapsed_ms: int = 0
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


def _feed_title(body: bytes) -> str:
    if looks_like_json(body):
        return json_feed_title(body)
    try:
        return str(feedparser.parse(body).feed.get("title") or "").strip()
    except Exception:  # a title is a nicety; the entries already parsed
        return ""


async def probe(source: Source, allow_private: bool, timeout: float = 30.0) -> Probe:
    """Fetch and parse once. An HTML page given as an rss source is searched for its feed."""
    async with Fetcher(allow_private=allow_private, total_timeout=timeout) as fetcher:

        async def fetch_page(url: str) -> bytes | None:
            page = await fetcher.fetch(url)
            return page.body if page.ok else None

        url = poll_url(source, datetime.now(UTC))
        result = await fetcher.fetch(url)
        found = Probe(url=url, kind=source.kind, http_status=result.status)
        found.elapsed_ms = result.elapsed_ms
        if not result.ok:
            found.error_code, found.error_message = result.error_code, result.error_message
            return found
        body, base = result.body, result.final_url or url
        if source.kind == "rss" and looks_like_html(body):
            links = feed_links(body, base)
            if not links:
                found.error_code = "not_a_feed"
                found.error_message = f"{url} is a web page that announces no feed"
                return found
            feed = await fetcher.fetch(links[0])
            if not feed.ok:
                found.error_code, found.error_message = feed.error_code, feed.error_message
                return found
            found.discovered_from, found.url = url, links[0]
            body, base = feed.body, feed.final_url or links[0]
        try:
            parsed = await parse_source(source, body, base, fetch_page)
        except NotAFeed as exc:
            found.error_code, found.error_message = exc.code, str(exc)
            return found
        found.entries = parsed.entries
        if source.kind == "rss":
            found.title = _feed_title(body)
        return found
