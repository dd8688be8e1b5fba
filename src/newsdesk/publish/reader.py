"""The curated desk as reader-app subscriptions (Google Reader API shapes) and OPML.

Subscriptions are the desk's own feeds: featured, p1, all and the most used tags. A reader item
is one public story; its id is the story id, so marks survive re-judging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import quoteattr

from sqlalchemy import Connection

from newsdesk.domain import is_row_id
from newsdesk.publish.feeds import tag_path
from newsdesk.publish.read import HOT_TIERS, PUBLIC_TIERS, cards_for, decode_cursor, encode_cursor
from newsdesk.store import outputs

READING_LIST = "user/-/state/com.google/reading-list"
STARRED = "user/-/state/com.google/starred"
READ = "user/-/state/com.google/read"
ITEM_PREFIX = "tag:google.com,2005:reader/item/"
TAG_SUBSCRIPTIONS = 20
_FEED_ID = re.compile(r"^feed/.*?/feed(?:/(?P<which>all|p1)|/tag/(?P<tag>[^/]+))?\.xml$")


@dataclass(frozen=True)
class Stream:
    tiers: tuple[str, ...] = PUBLIC_TIERS
    tag: str | None = None
    starred: bool = False


@dataclass(frozen=True)
class Subscription:
    path: str  # the feed path on this desk, e.g. /feed.xml
    title: str
    label: str
    stream: Stream

    def feed_id(self, base: str) -> str:
        return f"feed/{base}{self.path}"


def subscriptions(conn: Connection) -> list[Subscription]:
    subs = [
        Subscription("/feed.xml", "newsdesk: featured", "newsdesk", Stream(HOT_TIERS)),
        Subscription("/feed/p1.xml", "newsdesk: P1", "newsdesk", Stream(("p1",))),
        Subscription("/feed/all.xml", "newsdesk: all stories", "newsdesk", Stream(PUBLIC_TIERS)),
    ]
    for tag, _n in outputs.tag_counts(conn, TAG_SUBSCRIPTIONS):
        subs.append(
            Subscription(f"{tag_path(tag)}.xml", f"newsdesk: #{tag}", "tags", Stream(tag=tag))
        )
    return subs


def resolve_stream(stream_id: str) -> Stream | None:
    if stream_id == READING_LIST:
        return Stream()
    if stream_id == STARRED:
        return Stream(starred=True)
    if stream_id.startswith("user/-/label/"):
        return Stream()  # our labels group subscriptions; every one of them is public stories
    match = _FEED_ID.match(stream_id)
    if not match:
        return None
    if match["tag"]:
        return Stream(tag=unquote(match["tag"]))
    return Stream({"all": PUBLIC_TIERS, "p1": ("p1",)}.get(match["which"] or "", HOT_TIERS))


def parse_item_id(value: str) -> int | None:
    """Accept the long form (hex), the short form (decimal) and a bare hex id."""
    try:
        if value.startswith(ITEM_PREFIX):
            found = int(value.removeprefix(ITEM_PREFIX), 16)
        elif value.isdigit():
            found = int(value)
        else:
            found = int(value, 16)
    except ValueError:
        return None
    return found if is_row_id(found) else None


def long_id(item_id: int) -> str:
    return f"{ITEM_PREFIX}{item_id:016x}"


def stream_page(
    conn: Connection, stream: Stream, *, n: int, continuation: str | None,
    exclude_read: bool, since: datetime | None, user_id: int | None = None,
) -> tuple[list[tuple[int, datetime]], str | None]:  # fmt: skip
    """A page of a stream for one reader (an account's id, or None for the
    NEWSDESK_READER_* pair): read and starred are theirs."""
    before = decode_cursor(continuation) if continuation else None
    rows = outputs.reader_item_ids(
        conn, tiers=stream.tiers, tag=stream.tag, starred=stream.starred,
        exclude_read=exclude_read, since=since, before=before, limit=n + 1, user_id=user_id,
    )  # fmt: skip
    more = len(rows) > n
    rows = rows[:n]
    return rows, (encode_cursor(rows[-1][1], rows[-1][0]) if more and rows else None)


def unread(conn: Connection, stream: Stream, user_id: int | None = None) -> int:
    return outputs.reader_unread_count(conn, stream.tiers, stream.tag, user_id)


def reader_items(
    conn: Connection, item_ids: list[int], base: str, user_id: int | None = None
) -> list[dict[str, Any]]:
    marks = outputs.marks_for(conn, item_ids, user_id)
    items = []
    for card in cards_for(conn, item_ids):  # stories no longer public are left out
        read, starred = marks.get(card["id"], (False, False))
        items.append(_item(card, read, starred, base))
    return items


def _item(card: dict[str, Any], read: bool, starred: bool, base: str) -> dict[str, Any]:
    when = card["published_at"] or card["filed_at"]
    filed = card["filed_at"]
    tags = [*card["tags"]["capabilities"], *card["tags"]["entities"], *card["tags"]["topics"]]
    categories = [READING_LIST, *(f"user/-/label/{t}" for t in tags)]
    if read:
        categories.append(READ)
    if starred:
        categories.append(STARRED)
    summary = card["summary"]["en"] or card["summary"]["zh"]
    take = card["take"]["en"]
    content = f"<p>{escape(summary)}</p>"
    if take:
        content += f"<p><b>Editor take:</b> {escape(take)}</p>"
    usec = int(filed.timestamp() * 1_000_000)
    return {
        "id": long_id(card["id"]),
        "crawlTimeMsec": str(usec // 1000),
        "timestampUsec": str(usec),
        "published": int(when.timestamp()),
        "updated": int(when.timestamp()),
        "title": card["title"]["en"] or card["title"]["zh"] or card["original_title"],
        "author": card["source"]["name"],
        "canonical": [{"href": card["url"]}],
        "alternate": [{"href": card["url"], "type": "text/html"}],
        "summary": {"direction": "ltr", "content": content},
        "categories": categories,
        "origin": {
            "streamId": f"feed/{base}/feed/all.xml",
            "title": card["source"]["name"],
            "htmlUrl": f"{base}/items/{card['id']}",
        },
    }


def mark(
    conn: Connection, item_ids: list[int], add: list[str], remove: list[str],
    user_id: int | None = None,
) -> None:  # fmt: skip
    now = datetime.now(UTC)
    for state, column in ((READ, "read"), (STARRED, "starred")):
        if state in add:
            outputs.set_mark(conn, item_ids, now, user_id=user_id, **{column: True})
        if state in remove:
            outputs.set_mark(conn, item_ids, now, user_id=user_id, **{column: False})


def mark_all_read(
    conn: Connection, stream: Stream, before: datetime | None, user_id: int | None = None
) -> int:
    """Every story of a stream read for one reader (up to `before`: what the app had shown)."""
    return outputs.mark_all_read(conn, stream.tiers, stream.tag, before, datetime.now(UTC), user_id)


def opml(conn: Connection, base: str) -> str:
    """OPML 2.0 listing the desk's subscriptions, grouped by label."""
    groups: dict[str, list[Subscription]] = {}
    for sub in subscriptions(conn):
        groups.setdefault(sub.label, []).append(sub)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "<head><title>newsdesk subscriptions</title></head>",
        "<body>",
    ]
    for label, subs in groups.items():
        lines.append(f"<outline text={quoteattr(label)}>")  # a folder: text alone, no type
        for sub in subs:
            lines.append(
                f'<outline type="rss" text={quoteattr(sub.title)} title={quoteattr(sub.title)} '
                f"xmlUrl={quoteattr(base + sub.path)} htmlUrl={quoteattr(base + '/')}/>"
            )
        lines.append("</outline>")
    lines += ["</body>", "</opml>", ""]
    return "\n".join(lines)


ATOM_SCHEME = "http://www.google.com/reader/"


def _atom_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom(stream_id: str, title: str, items: list[dict[str, Any]], continuation: str | None) -> str:
    """A stream as Google Reader's Atom (`/reader/atom/…`), what FeedHQ-style clients such as
    newsboat read: each entry's id is the item id they send back to edit-tag, its categories
    carry the reader's read and starred states."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:gr="http://www.google.com/schemas/reader/atom/">',
        f"<id>{escape('tag:google.com,2005:reader/' + stream_id)}</id>",
        f"<title>{escape(title)}</title>",
        f"<updated>{_atom_time(int(datetime.now(UTC).timestamp()))}</updated>",
    ]
    if continuation:
        lines.append(f"<gr:continuation>{escape(continuation)}</gr:continuation>")
    for item in items:
        link = item["alternate"][0]["href"]
        lines += [
            f'<entry gr:crawl-timestamp-msec="{item["crawlTimeMsec"]}">',
            f"<id>{escape(item['id'])}</id>",
            *(
                f"<category term={quoteattr(c)} scheme={quoteattr(ATOM_SCHEME)}"
                f" label={quoteattr(c.rsplit('/', 1)[-1])}/>"
                for c in item["categories"]
            ),
            f'<title type="html">{escape(escape(item["title"]))}</title>',
            f"<published>{_atom_time(item['published'])}</published>",
            f"<updated>{_atom_time(item['updated'])}</updated>",
            f'<link rel="alternate" href={quoteattr(link)} type="text/html"/>',
            f'<summary type="html">{escape(item["summary"]["content"])}</summary>',
            f"<author><name>{escape(item['author'])}</name></author>",
            f"<source gr:stream-id={quoteattr(item['origin']['streamId'])}>"
            f"<title>{escape(item['origin']['title'])}</title>"
            f'<link rel="alternate" href={quoteattr(item["origin"]["htmlUrl"])} type="text/html"/>'
            "</source>",
            "</entry>",
        ]
    lines += ["</feed>", ""]
    return "\n".join(lines)


def stream_title(conn: Connection, stream_id: str) -> str:
    for sub in subscriptions(conn):
        if stream_id.endswith(sub.path):
            return sub.title
    return {READING_LIST: "newsdesk: reading list", STARRED: "newsdesk: starred"}.get(
        stream_id, "newsdesk"
    )
