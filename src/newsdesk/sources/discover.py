"""Find a site's feeds from its HTML: `<link rel="alternate" type="application/rss+xml">`."""

from __future__ import annotations

from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "text/xml",
)


def looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<head" in head


def feed_links(page: bytes, base_url: str) -> list[str]:
    """Feed URLs a page announces, in page order, RSS/Atom before JSON."""
    tree = LexborHTMLParser(page)
    found: list[tuple[int, str]] = []
    for node in tree.css("link[rel]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").lower().split(";")[0].strip()
        href = (node.attributes.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            found.append((FEED_TYPES.index(kind), urljoin(base_url, href)))
    ordered = [url for _, url in sorted(found, key=lambda pair: pair[0])]
    return list(dict.fromkeys(u for u in ordered if u.startswith(("http://", "https://"))))
