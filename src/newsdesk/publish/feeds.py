"""Outgoing feeds: RSS 2.0 (feedgen) and JSON Feed 1.1, built from the public read layer.

One entry per event: a story covered by several sources appears once, as its most important
public member. GUIDs name the event (or the story when it has none), never anything the editor
decides, so re-judging a story never changes its GUID and readers never see it twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from lxml import etree
from sqlalchemy import Connection

from newsdesk.publish.read import HOT_TIERS, PUBLIC_TIERS, list_cards
from newsdesk.store import outputs

FEED_SIZE = 50
TIER_RANK = {"p1": 0, "featured": 1, "all": 2}
# Characters XML 1.0 cannot carry at all (C0 controls but tab and newlines, lone surrogates,
# U+FFFE/U+FFFF): a tag in a URL or a title from a feed may hold them, and lxml refuses them.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class FeedSpec:
    """What one feed shows: its tiers, an optional tag, the output language and its path."""

    title: str
    description: str
    path: str  # without the .xml / .json suffix, e.g. "/feed" or "/feed/tag/Agent"
    tiers: tuple[str, ...] = HOT_TIERS
    tag: str | None = None
    lang: str = "en"
    full_text: bool = False  # carry the story's body where its source allows it


@dataclass
class Entry:
    guid: str
    title: str
    link: str
    html: str
    text: str
    published: datetime
    updated: datetime
    tags: list[str]
    author: str
    language: str


@dataclass
class Feed:
    spec: FeedSpec
    entries: list[Entry]

    @property
    def updated(self) -> datetime | None:
        """The newest entry's time; None for an empty feed, which has no date to claim."""
        return max((e.updated for e in self.entries), default=None)


def featured_spec(lang: str | None = None) -> FeedSpec:
    """The featured feed: `/feed` in English, or `/feed/lang/{lang}` (its own self link)."""
    path = "/feed" if lang is None else f"/feed/lang/{lang}"
    return FeedSpec(
        "newsdesk: featured", "P1 and featured AI stories", path, HOT_TIERS, lang=lang or "en"
    )


def full_text_spec() -> FeedSpec:
    return FeedSpec(
        "newsdesk: featured, full text",
        "P1 and featured stories; full text where the source allows republishing it",
        "/feed/full",
        HOT_TIERS,
        full_text=True,
    )


def p1_spec() -> FeedSpec:
    return FeedSpec("newsdesk: P1", "Only the P1 stories", "/feed/p1", ("p1",))


def all_spec() -> FeedSpec:
    return FeedSpec("newsdesk: all stories", "Every public AI story", "/feed/all", PUBLIC_TIERS)


def tag_path(tag: str) -> str:
    """The tag feed's path, percent-encoded: tags such as "Product update" hold spaces."""
    return f"/feed/tag/{quote(tag, safe='')}"


def tag_spec(tag: str) -> FeedSpec:
    return FeedSpec(
        f"newsdesk: #{tag}", f"Public stories tagged {tag}", tag_path(tag), PUBLIC_TIERS, tag
    )


def story_guid(card: dict[str, Any]) -> str:
    """The entry's GUID: its event's when grouped, else its own; never the judgement's."""
    if card.get("event"):
        return f"urn:newsdesk:event:{card['event']['id']}"
    return f"urn:newsdesk:item:{card['id']}"


def story_feed(conn: Connection, spec: FeedSpec, base_url: str, tz: str = "UTC") -> Feed:
    """The newest public stories for a spec, one entry per event."""
    cards = list_cards(conn, tiers=spec.tiers, tag=spec.tag, limit=FEED_SIZE * 3, tz=tz).cards
    return cards_feed(conn, spec, cards, base_url)


def personal_spec(path: str, name: str) -> FeedSpec:
    """A person's feed of their follows (`path` holds its secret token)."""
    return FeedSpec(f"newsdesk: {name}'s follows", "What you follow on newsdesk", path,
                    PUBLIC_TIERS)  # fmt: skip


def cards_feed(
    conn: Connection, spec: FeedSpec, cards: list[dict[str, Any]], base_url: str
) -> Feed:
    """A feed of these cards (newest first), one entry per event."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for card in cards:  # newest first, so groups come out in the order of their newest story
        groups.setdefault(story_guid(card), []).append(card)
    chosen = [
        (guid, min(members, key=lambda c: (TIER_RANK[c["tier"]], -(c["importance"] or 0))),
         len(members))
        for guid, members in list(groups.items())[:FEED_SIZE]
    ]  # fmt: skip
    bodies = outputs.full_texts(conn, [c["id"] for _, c, _ in chosen]) if spec.full_text else {}
    entries = [
        _story_entry(guid, card, n, base_url, spec.lang, bodies.get(card["id"], ""))
        for guid, card, n in chosen
    ]
    return Feed(spec, entries)


def _pick(field: dict[str, str], lang: str) -> str:
    other = "zh" if lang == "en" else "en"
    return field.get(lang) or field.get(other) or ""


def _story_entry(
    guid: str, card: dict[str, Any], members: int, base_url: str, lang: str, body: str = ""
) -> Entry:
    title = _pick(card["title"], lang) or card["original_title"]
    summary = _pick(card["summary"], lang)
    take = _pick(card["take"], lang)
    tags = [*card["tags"]["capabilities"], *card["tags"]["entities"], *card["tags"]["topics"]]
    coverage = (card.get("event") or {}).get("sources_count") or members
    meta = f"{card['tier'].upper()} · {card['source']['name']} · importance {card['importance']}"
    if coverage > 1:
        meta += f" · {coverage} sources"
    parts = [f"<p>{escape(summary)}</p>"] if summary else []
    if take:
        parts.append(f"<p><strong>Editor take:</strong> {escape(take)}</p>")
    parts.append(f"<p>{escape(meta)}</p>")
    if body:  # already sanitised by normalize (nh3) when it was stored
        parts.append(f"<hr>{body}")
    parts.append(f'<p><a href="{escape(base_url)}/items/{card["id"]}">On newsdesk</a></p>')
    published = card["published_at"] or card["filed_at"]
    return Entry(
        guid=guid,
        title=title,
        link=card["url"],
        html="".join(parts),
        text="\n\n".join(x for x in (summary, take, meta) if x),
        published=published,
        updated=published,
        tags=tags,
        author=card["source"]["name"],
        language=card["language"],
    )


def report_feed(reports: list[dict[str, Any]], kind: str, base_url: str, render_html: Any) -> Feed:
    """A feed of stored reports (daily, weekly, monthly), newest first."""
    spec = FeedSpec(f"newsdesk: {kind} brief", f"The {kind} AI brief", f"/feed/{kind}")
    entries = []
    for report in reports:
        created = report["created_at"]
        entries.append(
            Entry(
                guid=f"urn:newsdesk:report:{kind}:{report['period']}",
                title=report["title"],
                link=f"{base_url}/{kind}/{report['period']}",
                html=render_html(report["data"], base_url),
                text=report["markdown"],
                published=created,
                updated=created,
                tags=[],
                author="newsdesk",
                language="en",
            )
        )
    return Feed(spec, entries)


# --- serialisation -------------------------------------------------------------------------


def xml_text(value: str) -> str:
    return NOT_XML.sub("", value)


def to_rss(feed: Feed, base_url: str) -> bytes:
    spec, x = feed.spec, xml_text
    fg = FeedGenerator()
    fg.title(x(spec.title))
    # feedgen takes the channel <link> from the last link set, so the site goes last.
    fg.link(href=x(f"{base_url}{spec.path}.xml"), rel="self")
    fg.link(href=x(f"{base_url}/"), rel="alternate")
    fg.description(x(spec.description))
    fg.language(spec.lang)
    fg.generator("newsdesk")
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.ttl(15)
    # Built from the newest entry, not the clock, so an unchanged feed is byte-identical. An
    # empty feed has no date to claim (not 1970, and not feedgen's "now" either: see below).
    if feed.updated is not None:
        fg.lastBuildDate(feed.updated)
    for entry in reversed(feed.entries):  # feedgen prepends each new entry
        fe = fg.add_entry()
        fe.guid(x(entry.guid), permalink=False)
        fe.title(x(entry.title))
        fe.link(href=x(entry.link))
        fe.description(x(entry.html))
        fe.pubDate(entry.published)
        for tag in entry.tags:
            fe.category(term=x(tag))
    body: bytes = fg.rss_str(pretty=True)
    if feed.updated is None:  # feedgen writes the clock when given no date: take it out
        root = etree.fromstring(body)
        channel = root.find("channel")
        channel.remove(channel.find("lastBuildDate"))
        body = etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
    return body


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_json_feed(feed: Feed, base_url: str) -> bytes:
    spec = feed.spec
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": f"{base_url}/",
        "feed_url": f"{base_url}{spec.path}.json",
        "description": spec.description,
        "language": spec.lang,
        "items": [
            {
                "id": e.guid,
                "url": e.link,
                "title": e.title,
                "content_html": e.html,
                "content_text": e.text,
                "date_published": rfc3339(e.published),
                "date_modified": rfc3339(e.updated),
                "tags": e.tags,
                "authors": [{"name": e.author}],
                "language": e.language,
            }
            for e in feed.entries
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
