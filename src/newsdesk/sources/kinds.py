"""One entry point for every fetched source kind: bytes of one poll in, entries out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from newsdesk.domain import Entry, Source
from newsdesk.sources import presets
from newsdesk.sources.dates import parse_date
from newsdesk.sources.json_api import expand_url, parse_json_api
from newsdesk.sources.jsonfeed import looks_like_json, parse_json_feed
from newsdesk.sources.rss import NotAFeed, parse_feed_with_ttl
from newsdesk.sources.web_list import PageFetch, complete_entries, parse_web_list

THREAD_FROM_BYTES = 32 * 1024  # smaller bodies parse faster than a thread hand-off


@dataclass
class Parsed:
    entries: list[Entry]
    ttl_minutes: int | None = None  # RSS <ttl>: a lower bound on the next poll


def poll_url(source: Source, now: datetime) -> str:
    return expand_url(source.url, now) if source.kind == "json_api" else source.url


def parse_bytes(source: Source, body: bytes, base_url: str) -> Parsed:
    """The CPU-bound part: bytes to entries, no I/O. Whatever a parser raises on a hostile
    body becomes `parse_error` on that source: it costs the source its poll, never the pass."""
    try:
        return _parse_bytes(source, body, base_url)
    except NotAFeed:
        raise
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"[:300]
        raise NotAFeed("parse_error", f"the parser failed on this body: {problem}") from exc


def _parse_bytes(source: Source, body: bytes, base_url: str) -> Parsed:
    ttl = None
    if source.kind == "web_list":
        entries = parse_web_list(source, body, base_url)
    elif source.kind == "json_api":
        entries = parse_json_api(source, body, base_url)
    elif looks_like_json(body):
        entries = parse_json_feed(source.id, body, base_url)
    else:
        entries, ttl = parse_feed_with_ttl(source.id, body, base_url)
    return Parsed(entries, ttl)


async def parse_source(
    source: Source, body: bytes, base_url: str, fetch_page: PageFetch | None = None
) -> Parsed:
    """Raise NotAFeed (with a stable code) when the bytes are not what the kind expects.

    Parsing runs in a worker thread for large bodies, so one big feed does not stall the
    event loop that the other sources' fetches run on."""
    if len(body) < THREAD_FROM_BYTES:
        parsed = parse_bytes(source, body, base_url)
    else:
        parsed = await asyncio.to_thread(parse_bytes, source, body, base_url)
    if source.kind == "web_list" and source.options.get("detail") and fetch_page is not None:
        parsed.entries = await complete_entries(parsed.entries, fetch_page)
    parsed.entries = presets.refine(parsed.entries, source.options)
    return parsed


def pushed_entry(source_id: str, payload: dict[str, object]) -> Entry:
    """An entry that arrived through POST /api/ingest (already validated by the web layer)."""
    return Entry(
        source_id=source_id,
        title=str(payload.get("title") or ""),
        link=str(payload.get("url") or ""),
        guid=str(payload.get("guid") or ""),
        published=parse_date(payload.get("published")),
        summary_html=str(payload.get("summary") or ""),
        content_html=str(payload.get("content") or ""),
        authors=tuple(str(a) for a in payload.get("authors") or () if a),  # type: ignore[attr-defined]
    )
