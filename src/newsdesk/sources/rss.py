"""The `rss` source kind: RSS 0.9x/1.0/2.0, Atom, RDF and JSON Feed through feedparser.

Bytes go in (feedparser then honours the declared or sniffed encoding itself); its sanitizer is
off because nh3 cleans HTML later, in normalize, for every source kind alike.
"""

from __future__ import annotations

import calendar
import functools
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import feedparser.mixin

from newsdesk.domain import Entry
from newsdesk.sources.media import declares_podcast_namespace, entry_media, transcript_links


class NotAFeed(ValueError):
    """The bytes are not a feed; `code` is a stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _when(parsed: time.struct_time | None) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


# feedparser's own relative-URI pass re-parses every HTML fragment (about a quarter of its
# time on the corpus); links and images are all that need a base, so a regex does it. The
# patterns start at the "=" of an attribute (the engine jumps from one "=" to the next; a
# pattern starting with href|src is tried at every character, 100x slower) and
# _names_url_at checks the attribute's name, as `\b(?:href|src)\s*=` would.
_RELATIVE = re.compile(
    r"""=(\s*)(["'])(?!(?:https?:|mailto:|data:|#|//))([^"']*)\2""",
    re.IGNORECASE,
)
_PROTOCOL_RELATIVE = re.compile(r"""=(\s*)(["'])//""")


def _names_url_at(html: str, at: int) -> bool:
    """The attribute whose "=" is at `at` is a whole-word href or src (any case)."""
    end = at
    while end > 0 and html[end - 1].isspace():
        end -= 1
    for name in ("href", "src"):
        start = end - len(name)
        if start >= 0 and html[start:end].lower() == name:
            return start == 0 or not (html[start - 1].isalnum() or html[start - 1] == "_")
    return False


def absolutize(html: str, base: str) -> str:
    """Relative href/src in an HTML fragment made absolute against `base`."""
    if not html or not base or ("href" not in html and "src" not in html):
        return html
    scheme = base.split(":", 1)[0] if ":" in base else "https"

    def protocol(m: re.Match[str]) -> str:
        if not _names_url_at(html, m.start()):
            return m.group(0)
        return f"={m.group(1)}{m.group(2)}{scheme}://"

    def relative(m: re.Match[str]) -> str:
        if not _names_url_at(html, m.start()):
            return m.group(0)
        try:
            absolute = urljoin(base, m.group(3))
        except ValueError:  # "http://[x/": not a URL; nh3 decides what to keep of it
            return m.group(0)
        return f"={m.group(1)}{m.group(2)}{absolute}{m.group(2)}"

    html = _PROTOCOL_RELATIVE.sub(protocol, html)
    return _RELATIVE.sub(relative, html)


def cache_base_uris() -> None:
    """Give feedparser's xml:base resolution a small cache (idempotent).

    feedparser resolves the current base URI against itself at every start tag, two
    urljoin calls per element: a sixth of its time on the corpus. The function is pure, so
    cached answers are the same answers. Installed by the collect workers only (it patches
    feedparser for the whole process, and the benchmark's plain-feedparser baseline shares
    the bench's process)."""
    resolve = feedparser.mixin.make_safe_absolute_uri
    if not hasattr(resolve, "cache_info"):
        feedparser.mixin.make_safe_absolute_uri = functools.lru_cache(maxsize=1024)(resolve)


def _content_html(entry: Any) -> str:
    for part in entry.get("content") or []:
        if part.get("value"):
            return str(part["value"])
    return ""


def parse_feed(source_id: str, body: bytes, base_url: str = "") -> list[Entry]:
    """Parse feed bytes into entries; raise NotAFeed when nothing feed-like is there."""
    return parse_feed_with_ttl(source_id, body, base_url)[0]


def _ttl(feed: Any) -> int | None:
    value = str(feed.get("ttl") or "").strip()
    return int(value) if value.isdigit() else None


def _signals(raw: Any) -> dict[str, Any]:
    signals: dict[str, Any] = {}
    terms = [str(t.get("term") or "").strip() for t in raw.get("tags") or []]
    if categories := [t for t in dict.fromkeys(terms) if t]:
        signals["categories"] = categories
    if comments := raw.get("comments"):
        signals["comments_url"] = str(comments)
    return signals


def parse_feed_with_ttl(
    source_id: str, body: bytes, base_url: str = ""
) -> tuple[list[Entry], int | None]:
    """Entries plus the feed's RSS <ttl> in minutes, when it declares one."""
    parsed = feedparser.parse(
        body,
        sanitize_html=False,
        resolve_relative_uris=False,  # done by absolutize() below, much faster
        response_headers={"content-location": base_url} if base_url else None,
    )
    if not parsed.entries and not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        detail = f": {problem}" if problem else ""
        raise NotAFeed("not_a_feed", f"no feed found in {len(body)} bytes{detail}")
    entries = []
    # every <podcast:transcript> of each item, when feedparser's one per item is not all
    links = transcript_links(body, base_url) if declares_podcast_namespace(body) else None
    if links is not None and len(links) != len(parsed.entries):
        links = None  # the two parsers saw different items: keep feedparser's own value
    for n, raw in enumerate(parsed.entries):
        title = str(raw.get("title") or "").strip()
        link = str(raw.get("link") or "").strip()
        guid = str(raw.get("id") or "")
        # untitled, unlinked entries (RSS 0.9x, podcasts, microblogs) are kept when they say
        # anything: normalize titles them from their text
        if not (title or link or guid or raw.get("summary") or raw.get("content")):
            continue
        authors = tuple(a.get("name", "") for a in raw.get("authors") or [] if a.get("name"))
        entries.append(
            Entry(
                source_id=source_id,
                title=title,
                link=link,
                guid=guid,
                published=_when(raw.get("published_parsed") or raw.get("updated_parsed")),
                summary_html=absolutize(str(raw.get("summary") or ""), link or base_url),
                content_html=absolutize(_content_html(raw), link or base_url),
                authors=authors,
                signals=_signals(raw),
                media=entry_media(raw, base_url or link, links[n] if links else None),
            )
        )
    return entries, _ttl(parsed.feed)
