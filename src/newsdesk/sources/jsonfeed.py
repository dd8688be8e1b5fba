"""JSON Feed 1.0 and 1.1 (jsonfeed.org) for the `rss` kind.

feedparser 6.0.14, the newest release on PyPI, has no JSON Feed reader (`feedparser.parse` of a
valid JSON Feed gives no version and no entries, whatever content type it is told), so this
small reader turns one into the same `Entry` objects. HTML is cleaned later by nh3, as for
every feed.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urljoin

from newsdesk.domain import Entry, Media
from newsdesk.sources.dates import parse_date
from newsdesk.sources.media import entry_media
from newsdesk.sources.rss import NotAFeed, absolutize

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes) -> bool:
    """JSON objects start with "{" (after a BOM or white space, in UTF-8, -16 or -32, which
    json.loads tells apart itself); XML never does."""
    head = body[:512]
    try:
        text = head.decode(json.detect_encoding(head), errors="ignore")
    except LookupError:
        return False
    return text.lstrip("\ufeff \t\r\n").startswith("{")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _id(value: Any) -> str:
    """The spec asks readers to take a number as its string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _when(value: Any) -> datetime | None:
    """RFC 3339, as the spec asks; feeds that write RFC 822 or the like get the lenient
    reader the other kinds use. Anything else is no date (normalize then distrusts it)."""
    return parse_date(value) if isinstance(value, str) else None


def _names(value: Any) -> tuple[str, ...]:
    people = value if isinstance(value, list) else [value]
    return tuple(n for p in people if isinstance(p, dict) and (n := _text(p.get("name"))))


def _entry(source_id: str, raw: dict[str, Any], feed: dict[str, Any], base: str) -> Entry | None:
    link = _text(raw.get("url")) or _text(raw.get("external_url"))
    link = urljoin(base, link) if link else ""
    html = _text(raw.get("content_html"))
    if not html and (plain := _text(raw.get("content_text"))):
        html = "".join(f"<p>{escape(part)}</p>" for part in plain.split("\n\n"))
    title, guid, summary = _text(raw.get("title")), _id(raw.get("id")), _text(raw.get("summary"))
    if not (title or link or guid or html or summary):
        return None
    # 1.1 has "authors"; 1.0 had "author"; an item without either takes the feed's
    authors = _names(raw.get("authors") or raw.get("author")) or _names(
        feed.get("authors") or feed.get("author")
    )
    tags = raw.get("tags") if isinstance(raw.get("tags"), list) else []
    categories = [t for t in dict.fromkeys(_text(t) for t in tags) if t]
    return Entry(
        source_id=source_id,
        title=title,
        link=link,
        guid=guid,
        published=_when(raw.get("date_published")) or _when(raw.get("date_modified")),
        summary_html=escape(summary),
        content_html=absolutize(html, link or base),
        authors=authors,
        signals={"categories": categories} if categories else {},
        media=_media(raw, base),
    )


def _media(raw: dict[str, Any], base: str) -> Media | None:
    """The first audio or video attachment, read as an enclosure would be."""
    attachments = raw.get("attachments") if isinstance(raw.get("attachments"), list) else []
    for a in attachments:
        if not isinstance(a, dict):
            continue
        enclosure = {"rel": "enclosure", "href": a.get("url"), "type": _text(a.get("mime_type")),
                     "length": a.get("size_in_bytes")}  # fmt: skip
        found = entry_media({"links": [enclosure],
                             "itunes_duration": a.get("duration_in_seconds")}, base)  # fmt: skip
        if found is not None:
            return found
    return None


def parse_json_feed(source_id: str, body: bytes, base_url: str = "") -> list[Entry]:
    try:
        feed = json.loads(body)  # bytes: UTF-8, -16 or -32 detected by json itself
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[…" nested too deep
        raise NotAFeed("parse_error", f"not valid JSON: {exc}") from None
    if not isinstance(feed, dict) or not _text(feed.get("version")).startswith(VERSION_PREFIX):
        raise NotAFeed("not_a_feed", "JSON, but not a JSON Feed (no jsonfeed.org version)")
    items = feed.get("items")
    if not isinstance(items, list):
        raise NotAFeed("not_a_feed", "JSON Feed without an items list")
    try:
        base = urljoin(base_url, _text(feed.get("home_page_url"))) if base_url else ""
    except ValueError:  # a home page that is no URL: links stay as the items give them
        base = base_url
    base = base or _text(feed.get("home_page_url"))
    entries = []
    for raw in items:
        try:
            entry = _entry(source_id, raw, feed, base) if isinstance(raw, dict) else None
        except ValueError:  # one item's unreadable URL ("http://[x/") costs that item only
            continue
        if entry is not None:
            entries.append(entry)
    return entries


def json_feed_title(body: bytes) -> str:
    try:
        feed = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    return _text(feed.get("title")) if isinstance(feed, dict) else ""
