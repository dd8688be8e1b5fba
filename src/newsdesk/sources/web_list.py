"""The `web_list` kind: a page of links read with CSS selectors (selectolax).

Options: `item` (one per story, required), and inside it `link` (default "a"), `title`
(default: the link's text), `date` (a `datetime` attribute or the text), `summary`; `detail`
(true: fetch each story's page to fill a missing title, date or summary from its meta tags).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from newsdesk.domain import Entry, Source
from newsdesk.sources.dates import parse_date
from newsdesk.sources.rss import NotAFeed

PageFetch = Callable[[str], Awaitable[bytes | None]]
DETAIL_PAGES_MAX = 20  # detail fetches per poll: a list page must not become a crawl


def _text(node: LexborNode | None) -> str:
    return " ".join((node.text(separator=" ") or "").split()) if node is not None else ""


def _pick(node: LexborNode, selector: str | None) -> LexborNode | None:
    if not selector:
        return None
    return node.css_first(selector)


def _date_of(node: LexborNode | None) -> Any:
    if node is None:
        return None
    return node.attributes.get("datetime") or node.attributes.get("content") or _text(node)


def parse_web_list(source: Source, body: bytes, base_url: str) -> list[Entry]:
    options = source.options
    item_selector = options.get("item")
    if not item_selector:
        raise NotAFeed("config", f"web_list source {source.id} has no 'item' selector")
    tree = LexborHTMLParser(body)
    nodes = tree.css(str(item_selector))
    if not nodes:
        raise NotAFeed("no_items", f"no element matches {item_selector!r} on {base_url}")
    entries: list[Entry] = []
    seen: set[str] = set()
    for node in nodes:
        anchor = node if node.tag == "a" else _pick(node, options.get("link", "a"))
        href = (anchor.attributes.get("href") or "").strip() if anchor is not None else ""
        link = urljoin(base_url, href) if href else ""
        if not link.startswith(("http://", "https://")) or link in seen:
            continue
        seen.add(link)
        title_node = _pick(node, options.get("title")) or anchor
        summary_node = _pick(node, options.get("summary"))
        entries.append(
            Entry(
                source_id=source.id,
                title=_text(title_node),
                link=link,
                guid=link,
                published=parse_date(_date_of(_pick(node, options.get("date")))),
                summary_html=summary_node.html or "" if summary_node is not None else "",
            )
        )
    return entries


def _meta(tree: LexborHTMLParser, *names: str) -> str:
    for name in names:
        node = tree.css_first(f'meta[property="{name}"]') or tree.css_first(f'meta[name="{name}"]')
        if node is not None and (value := node.attributes.get("content")):
            return value.strip()
    return ""


def fill_from_page(entry: Entry, page: bytes) -> Entry:
    """Missing title, date or summary from the story's own page (Open Graph and friends)."""
    tree = LexborHTMLParser(page)
    title = entry.title or _meta(tree, "og:title", "twitter:title") or _text(tree.css_first("h1"))
    published = entry.published
    if published is None:
        raw = _meta(tree, "article:published_time", "date", "pubdate", "dc.date")
        time_node = tree.css_first("time[datetime]")
        published = parse_date(raw or (time_node.attributes.get("datetime") if time_node else None))
    summary = entry.summary_html
    if not summary and (description := _meta(tree, "og:description", "description")):
        summary = f"<p>{description}</p>"
    return replace(entry, title=title, published=published, summary_html=summary)


async def complete_entries(entries: list[Entry], fetch: PageFetch) -> list[Entry]:
    out = []
    for n, entry in enumerate(entries):
        if n < DETAIL_PAGES_MAX and not (entry.title and entry.published and entry.summary_html):
            page = await fetch(entry.link)
            if page:
                entry = fill_from_page(entry, page)
        out.append(entry)
    return out
