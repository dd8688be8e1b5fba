"""What the W3C feed validator checks, for every feed and OPML file the desk serves (the
validator itself needs the network): each feed names itself as its self link / feed_url, every
date is a real recent one (an empty feed claims none, never 1970), and every OPML outline that
carries feed attributes says its type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from fastapi.testclient import TestClient
from lxml import etree

from newsdesk.domain import Source
from newsdesk.publish.feeds import tag_path
from newsdesk.sources.opml import to_opml
from newsdesk.store.db import Database
from newsdesk.web.app import create_app

from .conftest import BASE, demo_settings

ATOM = "{http://www.w3.org/2005/Atom}"
FIXED = ("/feed", "/feed/all", "/feed/full", "/feed/p1", "/feed/lang/en", "/feed/lang/zh",
         "/feed/daily", "/feed/weekly", "/feed/monthly")  # fmt: skip
# Where the validator asks for `type`: any of these beside `text` on an outline.
FEED_ATTRIBUTES = {"description", "htmlUrl", "language", "title", "version", "xmlUrl"}


def feed_paths(client: TestClient) -> list[str]:
    tags = [t["tag"] for t in client.get("/api/v1/tags").json()["tags"]]
    return [*FIXED, *(tag_path(tag) for tag in tags), tag_path("Product update")]


def sane(when: datetime) -> bool:
    return datetime(2000, 1, 1, tzinfo=UTC) < when < datetime.now(UTC) + timedelta(days=2)


def check_rss(client: TestClient, path: str) -> int:
    answer = client.get(f"{path}.xml")
    assert answer.status_code == 200, path
    assert answer.headers["content-type"].startswith("application/rss+xml")
    channel = etree.fromstring(answer.content).find("channel")
    self_links = [x.get("href") for x in channel.findall(f"{ATOM}link") if x.get("rel") == "self"]
    assert self_links == [f"{BASE}{path}.xml"], path
    build = channel.findtext("lastBuildDate")
    items = channel.findall("item")
    if build is None:
        assert not items, f"{path}: entries but no lastBuildDate"
    else:
        assert sane(parsedate_to_datetime(build)), (path, build)
        assert answer.headers["last-modified"] == build.replace("+0000", "GMT"), path
    for item in items:
        assert sane(parsedate_to_datetime(item.findtext("pubDate"))), path
        assert item.findtext("guid") and (item.findtext("title") or item.findtext("description"))
    return len(items)


def check_json(client: TestClient, path: str) -> None:
    answer = client.get(f"{path}.json")
    assert answer.status_code == 200, path
    assert answer.headers["content-type"].startswith("application/feed+json")
    doc = answer.json()
    assert doc["feed_url"] == f"{BASE}{path}.json", path
    assert doc["home_page_url"] == f"{BASE}/"
    for item in doc["items"]:
        for key in ("date_published", "date_modified"):
            assert sane(datetime.fromisoformat(item[key].replace("Z", "+00:00"))), (path, key)


def check_opml(body: str) -> int:
    root = etree.fromstring(body.encode())
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.find("head").findtext("title")
    outlines = root.iter("outline")
    count = 0
    for outline in outlines:
        count += 1
        attrs = set(outline.attrib)
        assert outline.get("text"), etree.tostring(outline)[:200]
        if attrs & FEED_ATTRIBUTES:
            assert outline.get("type"), f"outline without type: {dict(outline.attrib)}"
        if outline.get("type") == "rss":
            assert outline.get("xmlUrl") and outline.get("title"), dict(outline.attrib)
    return count


def test_every_feed_names_itself_and_carries_sane_dates(client_for: Any) -> None:
    client = client_for()
    entries = 0
    for path in feed_paths(client):
        entries += check_rss(client, path)
        check_json(client, path)
    assert entries > 0  # the demo desk has stories, so the entry checks ran
    # "Safety/alignment" is a topic: its %2F must not split the path of its feed or its page
    assert client.get(f"{tag_path('Safety/alignment')}.xml").status_code == 200
    assert client.get("/tags/Safety%2Falignment").status_code == 200
    assert check_opml(client.get("/subscriptions.opml").text) > 3


def test_empty_feeds_claim_no_date(db: Database) -> None:
    client = TestClient(create_app(demo_settings(), db), base_url=BASE)
    for path in FIXED:
        assert check_rss(client, path) == 0
        check_json(client, path)
        assert "last-modified" not in client.get(f"{path}.xml").headers
    assert "1970" not in client.get("/feed/daily.xml").text
    etag = client.get("/feed/daily.xml").headers["etag"]
    assert client.get("/feed/daily.xml", headers={"If-None-Match": etag}).status_code == 304


def test_catalog_opml_folders_are_text_only_and_feeds_typed() -> None:
    sources = [
        Source(id="a", name="Lab", url="https://lab.example/feed", tags=("Labs", "US")),
        Source(id="b", name="Paper", url="https://papers.example/rss", tags=("Research",)),
        Source(id="c", name="Loose", url="https://loose.example/atom"),
    ]
    body = to_opml(sources)
    assert check_opml(body) == 6  # three feeds and three folders
    folders = [o for o in etree.fromstring(body.encode()).iter("outline") if len(o)]
    assert {dict(o.attrib)["text"] for o in folders} == {"Labs", "US", "Research"}
    assert all(set(o.attrib) == {"text"} for o in folders)
