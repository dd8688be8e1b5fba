"""OPML in and out: how every feed reader shares its subscriptions."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from newsdesk.domain import SOURCE_GROUPS, Source, SourceTier, feed_url_key


class OpmlError(ValueError):
    pass


def slug(text: str, fallback: str = "source") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:60].strip("-") or fallback


def parse_opml(data: bytes) -> list[Source]:
    """Every outline with an xmlUrl becomes an rss source, once per URL; folder names become
    tags."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        # no DTDs: entity expansion (billion laughs, external entities) is never needed here
        raise OpmlError("OPML with a DOCTYPE or entities is refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not valid OPML: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise OpmlError("not an OPML document (no <opml><body>)")
    sources: list[Source] = []
    used: set[str] = set()
    urls: set[str] = set()

    def walk(node: ET.Element, folders: tuple[str, ...]) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            name = (outline.get("title") or outline.get("text") or "").strip()
            if not url:
                walk(outline, (*folders, name) if name else folders)
                continue
            if feed_url_key(url) in urls:
                continue  # the same feed filed twice is one subscription: the first
            urls.add(feed_url_key(url))
            base = slug(name or url)
            source_id, n = base, 2
            while source_id in used:
                source_id, n = f"{base}-{n}", n + 1
            used.add(source_id)
            group = outline.get("category", "")
            sources.append(
                Source(
                    id=source_id,
                    name=name or url,
                    url=url,
                    kind="rss",
                    group=group if group in SOURCE_GROUPS else "media",
                    language=(outline.get("language") or "en")[:10],
                    tier=SourceTier.T2,
                    tags=folders,
                    notes=(outline.get("htmlUrl") or "").strip(),
                )
            )

    walk(body, ())
    return sources


@dataclass
class _Folder:
    feeds: list[Source] = field(default_factory=list)
    folders: dict[str, _Folder] = field(default_factory=dict)


def _feed_outline(s: Source, indent: str) -> str:
    attrs = {
        "type": "rss",
        "text": s.name,
        "title": s.name,
        "xmlUrl": s.url,
        "category": s.group,
        "language": s.language,
    }
    if s.notes.startswith(("http://", "https://")):
        attrs["htmlUrl"] = s.notes
    rendered = " ".join(f"{key}={quoteattr(value)}" for key, value in attrs.items())
    return f"{indent}<outline {rendered}/>"


def _render(folder: _Folder, depth: int) -> list[str]:
    indent = "  " * depth
    lines = [_feed_outline(s, indent) for s in folder.feeds]
    for name, inner in folder.folders.items():
        # A folder is `text` alone: with a title but no type the W3C validator takes it for
        # a feed that forgot its type.
        lines += [f"{indent}<outline text={quoteattr(name)}>"]
        lines += _render(inner, depth + 1)
        lines += [f"{indent}</outline>"]
    return lines


def to_opml(sources: list[Source], title: str = "newsdesk sources") -> str:
    """Tags become nested folders, as they came in, so another reader (or an import here)
    sees the same folders."""
    root = _Folder()
    for s in sources:
        if s.kind == "push":
            continue  # nothing to subscribe to
        folder = root
        for tag in s.tags:
            folder = folder.folders.setdefault(tag, _Folder())
        folder.feeds.append(s)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{escape(title)}</title></head>",
        "  <body>",
        *_render(root, 2),
        "  </body>",
        "</opml>",
        "",
    ]
    return "\n".join(lines)
