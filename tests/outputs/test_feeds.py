"""Our feeds parse cleanly in feedparser and meet the RSS 2.0 / JSON Feed 1.1 points we promise."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from xml.etree import ElementTree

import feedparser
from sqlalchemy import func, select, update

from newsdesk.publish.read import list_cards
from newsdesk.runner.reports import build_report
from newsdesk.store import schema as t

from .conftest import demo_settings, without_reports

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def check_rss(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert parsed.bozo is False, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    channel = ElementTree.fromstring(body).find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):
        assert channel.findtext(required), required
    guids = []
    for item in channel.findall("item"):
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        guids.append(guid.text)
        assert item.findtext("title") and item.findtext("link", "").startswith("http")
        parsedate_to_datetime(item.findtext("pubDate"))  # RFC 822, or this raises
        assert re.search(r"[+-]\d{4}$|GMT$", item.findtext("pubDate"))
        # Markup inside description is escaped text, not child elements.
        assert list(item.find("description")) == []
    assert len(guids) == len(set(guids))
    return parsed


def test_featured_rss_and_json_feed(client_for) -> None:
    client = client_for()
    rss = client.get("/feed.xml")
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
    parsed = check_rss(rss.content)
    channel = ElementTree.fromstring(rss.content).find("channel")
    assert channel.findtext("link") == "http://desk.test/"  # the site, not the feed itself
    self_link = channel.find("{http://www.w3.org/2005/Atom}link")
    assert self_link.get("rel") == "self" and self_link.get("href") == "http://desk.test/feed.xml"
    assert parsed.entries and all(
        e.link.startswith("http") and "<p>" in e.description for e in parsed.entries
    )
    assert len(parsed.entries) == 50 and all(e.title for e in parsed.entries)

    js = client.get("/feed.json")
    assert js.headers["content-type"].startswith("application/feed+json")
    doc = js.json()
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["feed_url"] == "http://desk.test/feed.json" and doc["title"]
    ids = [i["id"] for i in doc["items"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, str) for i in ids)
    for item in doc["items"]:
        assert RFC3339.match(item["date_published"]), item["date_published"]
        assert item["url"].startswith("http") and item["content_html"]
    assert {i["id"] for i in doc["items"]} == {e.id for e in parsed.entries}


def test_one_entry_per_event_and_only_public_stories(client_for, desk) -> None:
    client = client_for()
    parsed = feedparser.parse(client.get("/feed/all.xml").content)
    ids = [e.id for e in parsed.entries]
    events = [int(i.rsplit(":", 1)[1]) for i in ids if i.startswith("urn:newsdesk:event:")]
    m, i = t.event_members.c, t.items.c
    with desk.read() as conn:
        public_members = dict(
            conn.execute(
                select(m.event_id, func.count())
                .join(t.items, i.id == m.item_id)
                .where(m.event_id.in_(events), i.tier.in_(("p1", "featured", "all")))
                .group_by(m.event_id)
            ).all()
        )
        excluded = set(conn.execute(select(i.url).where(i.tier == "excluded")).scalars())
    # Some event in the feed has several public stories, and it still shows once.
    assert any(n > 1 for n in public_members.values())
    assert len(ids) == len(set(ids)) == len(events)
    assert excluded and not excluded & {e.link for e in parsed.entries}


def test_guids_stable_across_rejudging(client_for, desk) -> None:
    client = client_for()
    before = feedparser.parse(client.get("/feed/all.xml").content)
    with desk.read() as conn:
        item_id = list_cards(conn, limit=1).cards[0]["id"]  # the newest public story

    # Re-judge: a new judgement with another score and title becomes the current one.
    def rejudge(conn):
        current = (
            conn.execute(select(t.judgements).where(t.judgements.c.item_id == item_id))
            .first()
            ._asdict()
        )
        current.pop("id")
        current |= {"importance": 99, "tier": "p1", "title_en": "Renamed by a re-judge"}
        new_id = conn.execute(
            t.judgements.insert().values(**current).returning(t.judgements.c.id)
        ).scalar_one()
        conn.execute(
            update(t.items)
            .where(t.items.c.id == item_id)
            .values(judgement_id=new_id, tier="p1", importance=99)
        )

    desk.write_sync(rejudge)
    after = feedparser.parse(client.get("/feed/all.xml").content)
    renamed = [e for e in after.entries if e.title == "Renamed by a re-judge"]
    assert renamed and renamed[0].id in {e.id for e in before.entries}
    assert len(after.entries) == len(before.entries)


def test_conditional_get_and_cache_headers(client_for) -> None:
    client = client_for()
    for path in ("/feed.xml", "/feed.json", "/feed/all.xml", "/feed/lang/zh.xml"):
        first = client.get(path)
        assert first.status_code == 200
        assert first.headers["cache-control"].startswith("public")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert parsedate_to_datetime(modified) <= datetime.now(
            parsedate_to_datetime(modified).tzinfo
        )
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
        assert client.get(path).content == first.content  # byte-identical when unchanged


def test_tag_language_and_report_feeds(client_for, desk) -> None:
    client = client_for()
    tagged = check_rss(client.get("/feed/tag/OpenAI.xml").content)
    assert tagged.entries and all(
        "OpenAI" in [tag.term for tag in e.get("tags", [])] for e in tagged.entries
    )
    zh = check_rss(client.get("/feed/lang/zh.xml").content)
    assert zh.feed.language == "zh" and zh.entries
    assert client.get("/feed/lang/fr.xml").status_code == 422

    without_reports(desk)
    empty = check_rss(client.get("/feed/daily.xml").content)
    assert empty.entries == []
    asyncio.run(build_report(desk, demo_settings(), "daily", date(2025, 1, 31)))
    daily = check_rss(client.get("/feed/daily.xml").content)
    assert [e.id for e in daily.entries] == ["urn:newsdesk:report:daily:2025-01-31"]
    assert daily.entries[0].link == "http://desk.test/daily/2025-01-31"
    assert "o3-mini" in daily.entries[0].description
    assert client.get("/feed/daily.json").json()["items"][0]["id"].endswith("2025-01-31")


def test_tag_with_a_space_has_valid_urls(client_for) -> None:
    client = client_for()
    tags = [t["tag"] for t in client.get("/api/v1/tags").json()["tags"] if " " in t["tag"]]
    assert tags, "the demo desk has a tag with a space (a topic such as 'Product update')"
    path = "/feed/tag/" + tags[0].replace(" ", "%20")
    parsed = check_rss(client.get(path + ".xml").content)
    assert parsed.entries and " " not in parsed.feed.links[-1].href
    assert client.get(path + ".json").json()["feed_url"] == f"http://desk.test{path}.json"


def test_full_text_only_where_the_source_allows_it(client_for, desk) -> None:
    client = client_for()
    i, s = t.items.c, t.sources.c
    with desk.read() as conn:
        newest = list_cards(conn, tiers=("p1", "featured"), limit=1).cards[0]
        body = conn.execute(select(i.body_html).where(i.id == newest["id"])).scalar_one()
    marker = body[:40]
    assert marker
    before = check_rss(client.get("/feed/full.xml").content)
    assert marker not in before.entries[0].description  # no source has opted in yet
    source_id = newest["source"]["id"]

    def opt_in(conn) -> None:
        tags = conn.execute(select(s.tags).where(s.id == source_id)).scalar_one()
        conn.execute(update(t.sources).where(s.id == source_id).values(tags=[*tags, "full-text"]))

    desk.write_sync(opt_in)
    after = check_rss(client.get("/feed/full.xml").content)
    assert after.entries[0].description.count(marker) == 1
    summaries = check_rss(client.get("/feed.xml").content)  # the summary feed stays summaries
    assert not any(marker in e.description for e in summaries.entries)
