"""Follows on both engines: following an event, an entity, a tag or a source from a card, the
event page, the tag page or the search results, and a search from the list's filter;
/following grouped with what is new since the last visit; a followed event marked "new since
you looked" when a development or a first-party report joins it, not when one more outlet
repeats it; each person's follows their own."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from test_people import cli, sign_in
from test_people import desk as desk

from newsdesk.domain import Source, SourceTier
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.search import index_item

NOW = datetime.now(UTC)


def add_story(db, title: str, source: str = "wire", when: datetime | None = None) -> int:
    when = when or datetime.now(UTC)

    def write(conn) -> int:
        item_id = conn.execute(
            insert(t.items).values(
                identity_key=title, source_id=source, url=f"https://x.example/{abs(hash(title))}",
                title=title, language="en", published_at=when, filed_at=when, first_seen_at=when,
                updated_at=when, content_hash=title,
            ).returning(t.items.c.id)
        ).scalar_one()  # fmt: skip
        jid = conn.execute(
            insert(t.judgements).values(
                item_id=item_id, created_at=when, policy_version="p", editor="rules",
                importance=70, tier="featured", hook=True, knowledge=True, resonance=False,
                tags={"capabilities": ["Reasoning"], "entities": ["DeepSeek"], "topics": []},
                title_en=title, summary_en=f"{title}.",
            ).returning(t.judgements.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(update(t.items).where(t.items.c.id == item_id)
                     .values(judgement_id=jid, tier="featured", importance=70))  # fmt: skip
        for tag in ("Reasoning", "DeepSeek"):
            conn.execute(insert(t.item_tags).values(item_id=item_id, tag=tag, filed_at=when))
        index_item(conn, item_id, title, f"{title}.")
        return item_id

    return db.write_sync(write)


def join_event(
    db, item_id: int, event_id: int | None, relation: str, new_number: bool = False
) -> int:
    now = datetime.now(UTC)

    def write(conn) -> int:
        eid = event_id
        if eid is None:
            eid = conn.execute(
                insert(t.events).values(
                    title_en="DeepSeek ships R3", lead_item_id=item_id, first_seen_at=now,
                    last_seen_at=now, created_at=now, updated_at=now,
                ).returning(t.events.c.id)
            ).scalar_one()  # fmt: skip
        conn.execute(insert(t.event_members).values(item_id=item_id, event_id=eid,
                                                    relation=relation, added_at=now,
                                                    new_number=new_number))  # fmt: skip
        conn.execute(update(t.events).where(t.events.c.id == eid).values(
            sources_count=t.events.c.sources_count + (0 if event_id is None else 1)))  # fmt: skip
        return eid

    return db.write_sync(write)


def card_of(page: str, item: int) -> str:
    found = re.search(rf'<article class="card[^"]*" id="item-{item}".*?</article>', page, re.S)
    assert found, f"no card for story {item}"
    return found.group(0)


def follow_forms(fragment: str) -> dict[tuple[str, str], dict[str, str]]:
    """The follow forms of a piece of a page: (kind, target) -> the fields it posts."""
    out = {}
    for form in re.findall(r'<form class="follow"[^>]*action="/follow".*?</form>', fragment, re.S):
        fields = {k: html.unescape(v) for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', form)}
        out[(fields["kind"], fields["target"])] = fields
    return out


def csrf_form(client, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def test_follow_an_event_and_see_it_develop(desk, db) -> None:
    db.write_sync(lambda c: repo.upsert_sources(c, [
        Source(id="deeplab", name="DeepSeek blog", url="https://ds.example/feed",
               tier=SourceTier.T1, group="vendor-official")], NOW))  # fmt: skip
    lead = add_story(db, "DeepSeek ships R3", when=NOW - timedelta(hours=3))
    event = join_event(db, lead, None, "lead")
    reader, other = desk(), desk()
    csrf = sign_in(reader, "ann")
    sign_in(other, "ed")

    card = reader.get(f"/items/{lead}").text
    assert f'name="target" value="{event}"' in card and "+ follow" in card
    back = {"referer": f"http://desk.test/items/{lead}"}
    form = {"csrf": csrf, "kind": "event", "target": str(event)}
    r = reader.post("/follow", data=form, headers=back, follow_redirects=False)
    assert r.status_code == 303
    assert "✓ following" in reader.get(f"/items/{lead}").text
    assert "new since you looked" not in reader.get(f"/items/{lead}").text

    # one more outlet repeating the launch is not news
    repeat = add_story(db, "Outlet: DeepSeek ships R3 too")
    join_event(db, repeat, event, "same_occurrence")
    assert "new since you looked" not in reader.get(f"/items/{lead}").text
    # a development is: on the card, on /following and on the event page
    development = add_story(db, "DeepSeek R3 tops the reasoning board a day later")
    join_event(db, development, event, "same_story")
    assert "new since you looked" in reader.get(f"/items/{lead}").text
    following = reader.get("/following").text
    assert "new since you looked" in following and "a day later" in following
    assert "new since you looked" not in other.get(f"/items/{lead}").text  # ed follows nothing
    assert "new since you looked" not in reader.get(f"/items/{lead}").text  # /following looked
    later = add_story(db, "DeepSeek R3 gets a price cut")
    join_event(db, later, event, "same_story")
    page = reader.get(f"/events/{event}").text
    assert "new since you looked" in page
    # looked at: the marker is gone until something new joins again
    assert "new since you looked" not in reader.get(f"/events/{event}").text
    assert "new since you looked" not in reader.get(f"/items/{lead}").text
    # a first-party report joining is news as well
    first_party = add_story(db, "DeepSeek R3 technical report", source="deeplab")
    join_event(db, first_party, event, "same_occurrence")
    assert "new since you looked" in reader.get(f"/items/{lead}").text
    reader.get(f"/events/{event}")
    # and so is a repeat with a different figure (the grouping step marks it new_number)
    figure = add_story(db, "Outlet: DeepSeek R3 costs $0.14 per million tokens")
    join_event(db, figure, event, "same_occurrence", new_number=True)
    assert "new since you looked" in reader.get(f"/items/{lead}").text


def test_follow_tags_entities_sources_searches_on_following(desk, db) -> None:
    old = add_story(db, "DeepSeek older note", when=NOW - timedelta(days=2))
    reader = desk()
    csrf = sign_in(reader, "ann")
    tag_page = reader.get("/tags/DeepSeek").text
    assert 'name="kind" value="entity"' in tag_page  # its stories name DeepSeek an entity
    assert reader.post("/follow", data={"csrf": csrf, "kind": "entity", "target": "DeepSeek"},
                       follow_redirects=False).status_code == 303  # fmt: skip
    assert 'name="kind" value="source"' in reader.get("/all?source=lab").text
    reader.post("/follow", data={"csrf": csrf, "kind": "source", "target": "lab"})
    search = reader.get("/all?q=quokka0").text
    assert 'name="kind" value="search"' in search
    reader.post("/follow", data={"csrf": csrf, "kind": "search", "target": "quokka0"})
    bad = reader.post("/follow", data={"csrf": csrf, "kind": "source", "target": "nope"})
    assert bad.status_code == 400

    first = reader.get("/following").text
    assert "#DeepSeek" in first and "“quokka0”" in first and "Lab ships Nova-2" in first
    assert "older note" in first and 'class="new-mark"' not in first  # all seen when followed
    new = add_story(db, "DeepSeek opens R3 weights")
    second = reader.get("/following").text
    # the group with something new comes first, and only the new story is marked
    assert second.index("#DeepSeek") < second.index("“quokka0”")
    marked = re.findall(r'class="follow-item is-new"><span class="new-mark">new</span>\s*'
                        r'<article class="card[^"]*" id="item-(\d+)"', second)  # fmt: skip
    assert marked == [str(new)], marked
    assert 'class="new-mark"' not in reader.get("/following").text  # seen on the last visit
    assert str(old)

    # follows are the person's own: another reader sees none of them, an admin only counts
    other = desk()
    sign_in(other, "ed")
    assert "You follow nothing yet" in other.get("/following").text
    assert re.search(r"ann\s+reader\s+active\s+\d+\s+3\s", cli(db, "users", "list").output)
    # unfollow
    reader.post("/follow", data={"csrf": csrf, "kind": "search", "target": "quokka0",
                                 "remove": "true"})  # fmt: skip
    assert "“quokka0”" not in reader.get("/following").text


@pytest.mark.parametrize("alert", ["daily", "bogus"])
def test_alert_choice_per_follow(desk, db, alert) -> None:
    reader = desk()
    csrf = sign_in(reader, "ann")
    reader.post("/follow", data={"csrf": csrf, "kind": "tag", "target": "Reasoning"})
    with db.read() as conn:
        follow_id = conn.execute(select(t.follows.c.id)).scalar_one()
    r = reader.post(f"/following/{follow_id}/alert", data={"csrf": csrf, "alert": alert},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == (303 if alert == "daily" else 400)
    other = desk()
    other_csrf = sign_in(other, "ed")
    assert other.post(f"/following/{follow_id}/alert",
                      data={"csrf": other_csrf, "alert": "weekly"}).status_code == 404  # fmt: skip


def test_personal_feeds_carry_follows_and_stop_when_revoked(desk, db) -> None:
    import json

    story = add_story(db, "DeepSeek R3 paper")
    reader, other = desk(), desk()
    csrf = sign_in(reader, "ann")
    other_csrf = sign_in(other, "ed")
    reader.post("/follow", data={"csrf": csrf, "kind": "entity", "target": "DeepSeek"})
    other.post("/follow", data={"csrf": other_csrf, "kind": "search", "target": "quokka2"})
    made = reader.post("/account/feeds", data={"csrf": csrf})
    assert made.status_code == 200
    xml_url = re.search(r'data-feed="xml">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    json_url = re.search(r'data-feed="json">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    token = xml_url.rsplit("/", 1)[1].removesuffix(".xml")
    with db.read() as conn:
        stored = conn.execute(select(t.feed_tokens.c.token_hash)).scalars().all()
    assert stored and token not in stored[0] and len(stored[0]) == 64
    assert token not in reader.get("/account").text  # shown once

    anonymous = desk()  # a feed reader: no cookie, only the URL
    rss = anonymous.get(xml_url.replace("http://desk.test", ""))
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
    assert "DeepSeek R3 paper" in rss.text and "Lab hires a chief scientist" not in rss.text
    assert "private" in rss.headers["cache-control"]
    feed = json.loads(anonymous.get(json_url.replace("http://desk.test", "")).text)
    assert any("DeepSeek R3 paper" in i["title"] for i in feed["items"])
    assert str(story)

    reader.post("/account/feeds", data={"csrf": csrf, "revoke": "true"})
    assert anonymous.get(xml_url.replace("http://desk.test", "")).status_code == 404
    assert anonymous.get("/me/feed/not-a-token.xml").status_code == 404


def test_follow_from_a_card_the_event_page_the_tag_page_and_search_results(desk, db) -> None:
    story = add_story(db, "DeepSeek ships R3")
    event = str(join_event(db, story, None, "lead"))
    reader = desk()
    sign_in(reader, "ann")
    offered = {("event", event), ("entity", "DeepSeek"), ("tag", "Reasoning"), ("source", "wire")}
    # the card, wherever it is shown: Hot, the tag page, the search results, its own page
    for path in ("/", "/tags/Reasoning", "/all?q=DeepSeek", f"/items/{story}"):
        assert set(follow_forms(card_of(reader.get(path).text, story))) == offered, path
    # the pages' own follow bars: the event with what its lead names, the tag, the search
    assert set(follow_forms(reader.get(f"/events/{event}").text)) == offered
    bar = reader.get("/tags/DeepSeek").text.split('<div id="feed">')[0]
    assert set(follow_forms(bar)) == {("entity", "DeepSeek")}
    bar = reader.get("/all?q=DeepSeek").text.split('<div id="feed">')[0]
    assert set(follow_forms(bar)) == {("search", "DeepSeek")}
    # nobody signed in: a link to sign in, no form
    anonymous = desk().get("/").text
    assert follow_forms(card_of(anonymous, story)) == {} and 'href="/signin"' in anonymous

    # a press on the card's DeepSeek button (htmx swaps the form for the new state)
    form = follow_forms(card_of(reader.get("/").text, story))[("entity", "DeepSeek")]
    pressed = reader.post("/follow", data=form, headers={"hx-request": "true"})
    assert pressed.status_code == 200 and "✓ following entity DeepSeek" in pressed.text
    assert 'aria-pressed="true"' in pressed.text
    source = follow_forms(card_of(reader.get("/").text, story))[("source", "wire")]
    pressed = reader.post("/follow", data=source, headers={"hx-request": "true"})
    assert "✓ following source Wire" in pressed.text
    card = card_of(reader.get("/").text, story)
    assert "✓ following entity DeepSeek" in card and "+ follow tag #Reasoning" in card
    following = reader.get("/following").text
    groups = dict(re.findall(r'data-follow="([^"]+)">(.*?)</section>', following, re.S))
    assert set(groups) == {"entity:DeepSeek", "source:wire"}
    assert "#DeepSeek" in groups["entity:DeepSeek"] and f'id="item-{story}"' in groups[
        "entity:DeepSeek"]  # fmt: skip
    assert "Wire" in groups["source:wire"]
    # the card shown on /following says what is followed too
    assert "✓ following entity DeepSeek" in card_of(groups["entity:DeepSeek"], story)
    # and a press again stops following
    unfollow = follow_forms(card_of(reader.get("/").text, story))[("entity", "DeepSeek")]
    assert unfollow.get("remove") == "true"
    reader.post("/follow", data=unfollow)
    assert "entity:DeepSeek" not in reader.get("/following").text
