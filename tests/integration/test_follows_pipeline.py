"""Follows and alerts on a desk built by the real pass, on both engines: fixture feeds served by
the local server, `run_once` with the rules editor, a reader using the web app.

A developing story across passes: the reader follows its event and an entity from a card;
one more outlet repeating the launch joins the event and marks nothing; a report with a new
figure does (the card, the event page, /following, one immediate alert). A daily digest is
sent once across passes, and never carries what a source's first import brought (backfill)
nor a plain repeat; a development of a backfilled story is in it.
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from test_alerts import Inbox
from test_follows import card_of, follow_forms
from test_people import SECRET, cli, sign_in

from conftest import Route
from newsdesk.config import load_settings
from newsdesk.domain import Source, SourceTier
from newsdesk.policy import load_policy
from newsdesk.runner.local import run_once
from newsdesk.store import schema as t
from newsdesk.web.app import create_app

BASE = "http://desk.test"
Post = tuple[str, str, datetime]  # title, body, published

# The desk's sources before the story: each has had its first import (an older post), so
# what they publish next is live, not backfill.
OLD_POST = "Notes on our infrastructure", "We moved a storage cluster. Nothing changed for users."
LAUNCH = (
    "DeepSeek-R3 release",
    "DeepSeek released DeepSeek-R3, an open-weight reasoning model. It scores 81.5% on AIME 2025 "
    "and is available under the MIT license.",
)
COVERAGE = (
    "DeepSeek releases R3, an open-weight reasoning model",
    "Chinese lab DeepSeek released DeepSeek-R3 on Monday, an open-weight reasoning model that "
    "scores 81.5% on AIME 2025.",
)
REPEAT = (
    "DeepSeek launches open-weight R3 reasoning model",
    "DeepSeek launched DeepSeek-R3, an open-weight reasoning model with a score of 81.5% on "
    "AIME 2025.",
)
ELSEWHERE = (
    "DeepSeek opens its first data centre in Europe",
    "DeepSeek said it opened a data centre in Frankfurt to serve customers in the European "
    "Union, its first outside China.",
)
DEVELOPMENT = (
    "DeepSeek-R3 update lifts its AIME score to 87.5%",
    "An update to DeepSeek-R3 raises its score on AIME 2025 to 87.5%, DeepSeek said, up from "
    "81.5% at launch.",
)


class Feeds:
    """The fixture feeds of one desk: RSS documents the local server answers, rewritten
    between passes as the sources publish."""

    SOURCES = (
        ("deepseek", "DeepSeek News", SourceTier.T1, "vendor-official"),
        ("wire", "Example Wire", SourceTier.T2, "media"),
        ("daily", "Tech Daily", SourceTier.T2, "media"),
    )

    def __init__(self, server) -> None:
        self.server = server
        self.posts: dict[str, list[Post]] = {sid: [] for sid, *_ in self.SOURCES}

    def publish(self, source: str, post: tuple[str, str], when: datetime) -> None:
        self.posts[source].insert(0, (*post, when))

    def catalog(self) -> list[Source]:
        out = []
        for sid, name, tier, group in self.SOURCES:
            url = self.server.add(f"/{sid}.xml", Route(self._rss(sid, name)))
            out.append(Source(id=sid, name=name, url=url, tier=tier, group=group))
        return out

    def _rss(self, sid: str, name: str) -> bytes:
        items = "".join(
            f"<item><title>{html.escape(title)}</title>"
            f"<link>https://{sid}.example/{_slug(title)}</link>"
            f"<guid>https://{sid}.example/{_slug(title)}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{html.escape(body)}</description></item>"
            for title, body, when in self.posts[sid]
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{name}</title><link>https://{sid}.example/</link>"
            f"<description>{name}</description>{items}</channel></rss>"
        ).encode()


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def run_pass(db, feeds: Feeds, **overrides) -> None:
    """One real pass: collect over HTTP, group, judge by rules, outputs (the people's alerts
    included). Full text is off: the fixture stories link to sites that do not exist."""
    settings = load_settings(
        database_url=db.url, allow_private_urls=True, fulltext_enabled=False,
        public_url=BASE, **overrides,
    )  # fmt: skip
    summary = asyncio.run(run_once(db, settings, load_policy(), catalog=feeds.catalog()))
    assert not summary.failed, summary.failed


@pytest.fixture
def web(db):
    """The desk's web app with one reader account, made with the CLI."""
    made = cli(db, "users", "add", "ann", "--role", "reader", "--password-stdin", stdin=SECRET)
    assert made.exit_code == 0, made.output
    settings = load_settings(
        database_url=db.url, data_dir="/nonexistent", page_cache_seconds=0, public_url=BASE
    )
    app = create_app(settings, db)
    return lambda: TestClient(app, base_url=BASE, client=("192.0.2.1", 50000))


def item_id(db, title: str) -> int:
    with db.read() as conn:
        return int(conn.execute(select(t.items.c.id).where(t.items.c.title == title)).scalar_one())


def new_cards(group: str) -> list[int]:
    """The stories a /following group marks new."""
    found = re.findall(r'class="follow-item is-new"><span class="new-mark">new</span>\s*'
                       r'<article class="card[^"]*" id="item-(\d+)"', group)  # fmt: skip
    return [int(i) for i in found]


def marked(page: str) -> bool:
    return "new since you looked" in page


def test_a_followed_story_develops_across_passes(db, server, web) -> None:
    feeds = Feeds(server)
    start = datetime.now(UTC)
    for sid in ("deepseek", "wire", "daily"):
        feeds.publish(sid, OLD_POST, start - timedelta(days=20))
    feeds.publish("deepseek", LAUNCH, start - timedelta(hours=5))
    feeds.publish("wire", COVERAGE, start - timedelta(hours=4))
    run_pass(db, feeds)  # the launch and its coverage: one event

    reader = web()
    inbox = Inbox()
    try:
        csrf = sign_in(reader, "ann")
        reader.post("/account/alerts", data={"csrf": csrf, "url": inbox.url})
        launch = item_id(db, LAUNCH[0])
        # from the launch's card in the search results: its story (the event) and DeepSeek
        card = card_of(reader.get("/all?q=DeepSeek-R3").text, launch)
        forms = follow_forms(card)
        event = next(target for kind, target in forms if kind == "event")
        assert ("entity", "DeepSeek") in forms, sorted(forms)
        for key in (("event", event), ("entity", "DeepSeek")):
            r = reader.post("/follow", data=forms[key], follow_redirects=False,
                            headers={"referer": f"{BASE}/all?q=DeepSeek-R3"})  # fmt: skip
            assert r.status_code == 303
        card = card_of(reader.get(f"/items/{launch}").text, launch)
        assert "✓ following entity DeepSeek" in card and not marked(card)
        following = reader.get("/following").text
        assert "#DeepSeek" in following and LAUNCH[0] in following and not marked(following)
        # Feeds carry whole seconds: a story published in the second the follows were made
        # would read as filed before them, so they are made a few seconds earlier.
        earlier = datetime.now(UTC) - timedelta(seconds=5)
        db.write_sync(lambda c: c.execute(update(t.follows).values(created_at=earlier)))
        with db.read() as conn:
            ids = {r.kind: r.id for r in conn.execute(select(t.follows.c.kind, t.follows.c.id))}
        reader.post(f"/following/{ids['event']}/alert", data={"csrf": csrf, "alert": "immediate"})

        # pass 1: one more outlet repeats the launch; it joins the event and is no news
        feeds.publish("daily", REPEAT, datetime.now(UTC))
        run_pass(db, feeds)
        repeat = item_id(db, REPEAT[0])
        event_page = reader.get(f"/events/{event}").text
        assert REPEAT[0] in event_page and not marked(event_page)
        assert not marked(reader.get(f"/items/{launch}").text)
        following = reader.get("/following").text
        assert f'id="item-{repeat}"' in following and not marked(following)
        assert 'class="new-mark"' not in following  # listed under the event, not new
        assert inbox.messages == []

        # pass 2: the wire reports a new figure. Published before the reader's last look at
        # /following, collected after it: new to them all the same.
        feeds.publish("wire", DEVELOPMENT, datetime.now(UTC))
        assert not marked(reader.get("/following").text)
        run_pass(db, feeds)
        development = item_id(db, DEVELOPMENT[0])
        assert marked(card_of(reader.get(f"/items/{launch}").text, launch))
        following = reader.get("/following").text
        groups = dict(re.findall(r'data-follow="(\w+):[^"]*">(.*?)</section>', following, re.S))
        assert marked(groups["event"]) and DEVELOPMENT[0] in groups["event"]
        assert new_cards(groups["event"]) == [development]
        # DeepSeek's group shows the event once, as the launch: marked new for the development
        assert new_cards(groups["entity"]) == [launch]
        assert len(inbox.messages) == 1 and DEVELOPMENT[0] in inbox.messages[0]["message"]
        # looked at on /following: the marker is gone until something new joins again
        assert not marked(reader.get(f"/events/{event}").text)
        assert not marked(reader.get(f"/items/{launch}").text)

        # pass 3: nothing new; nothing marked, nothing sent twice
        run_pass(db, feeds)
        assert not marked(reader.get("/following").text)
        assert len(inbox.messages) == 1
    finally:
        inbox.server.shutdown()
        inbox.server.server_close()


def test_a_daily_digest_is_sent_once_and_never_for_backfill(db, server, web) -> None:
    feeds = Feeds(server)
    now = datetime.now(UTC)
    yesterday = datetime.combine(now.date() - timedelta(days=1), time(0), UTC)
    feeds.publish("deepseek", LAUNCH, yesterday + timedelta(hours=9))
    feeds.publish("wire", COVERAGE, yesterday + timedelta(hours=10))
    feeds.publish("daily", OLD_POST, now - timedelta(days=20))

    reader = web()
    inbox = Inbox()
    try:
        csrf = sign_in(reader, "ann")
        reader.post("/account/alerts", data={"csrf": csrf, "url": inbox.url})
        reader.post("/follow", data={"csrf": csrf, "kind": "entity", "target": "DeepSeek"})
        with db.read() as conn:
            follow = conn.execute(select(t.follows.c.id)).scalar_one()
        reader.post(f"/following/{follow}/alert", data={"csrf": csrf, "alert": "daily"})
        # followed three days ago: yesterday's stories are the digest's
        then = now - timedelta(days=3)
        db.write_sync(lambda c: c.execute(update(t.follows).values(created_at=then, seen_at=then)))

        # pass 1: the sources' first import; yesterday's stories arrive as backfill
        run_pass(db, feeds, daily_hour=0)
        launch = item_id(db, LAUNCH[0])
        assert 'class="backfill"' in reader.get(f"/items/{launch}").text
        assert inbox.messages == []
        assert "nothing to send to ann now" in cli(db, "alerts", "preview", "ann").output

        # pass 2: live DeepSeek stories of yesterday: news of its own, one more outlet repeating
        # the launch and a report of a new figure (both join the launch's event, whose lead
        # came as backfill); the digest goes, with the news and the development
        feeds.publish("wire", REPEAT, yesterday + timedelta(hours=14))
        feeds.publish("daily", ELSEWHERE, yesterday + timedelta(hours=15))
        feeds.publish("daily", DEVELOPMENT, yesterday + timedelta(hours=16))
        run_pass(db, feeds, daily_hour=0)
        assert len(inbox.messages) == 1
        digest = inbox.messages[0]
        assert "Daily digest for ann" in digest["title"] and "/unsubscribe/" in digest["message"]
        assert ELSEWHERE[0] in digest["message"] and DEVELOPMENT[0] in digest["message"]
        assert REPEAT[0] not in digest["message"]
        assert LAUNCH[0] not in digest["message"] and COVERAGE[0] not in digest["message"]

        # pass 3: the outbox already sent it
        run_pass(db, feeds, daily_hour=0)
        assert len(inbox.messages) == 1
        assert "nothing to send to ann now" in cli(db, "alerts", "preview", "ann").output
    finally:
        inbox.server.shutdown()
        inbox.server.server_close()
