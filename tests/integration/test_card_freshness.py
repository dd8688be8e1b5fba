"""A card changes the moment the pipeline writes to its story, on both engines: re-judged,
commented, joined to an event, revised. With the micro-cache off the next page shows it;
with it on, within NEWSDESK_PAGE_CACHE_SECONDS. Kept cards and kept pages (publish/cards.py,
web/cards.py, the page memo) must never hide a write. An editor's saved and voted marks are
right on every page they see, and never on an anonymous reader's."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from newsdesk.config import load_settings
from newsdesk.domain import (
    HKR,
    Commentary,
    GroupDecision,
    Item,
    Judgement,
    Source,
    SourceTier,
    StoryRef,
    Tags,
    Tier,
)
from newsdesk.store import editor as store_editor
from newsdesk.store import events as store_events
from newsdesk.store import repo
from newsdesk.store.db import Database
from newsdesk.web.app import create_app

PASSWORD = "fresh-cards-desk"
NOW = datetime.now(UTC).replace(microsecond=0)
TTL = 1  # seconds the micro-cache keeps a page when it is on
SLACK = 2.0  # a loaded test machine may be late by this much beyond the TTL


def story(n: int, source: str, title: str, minutes_ago: int) -> Item:
    when = NOW - timedelta(minutes=minutes_ago)
    return Item(
        identity_key=f"url:https://{source}.example/{n}", source_id=source,
        url=f"https://{source}.example/{n}", title=title, body_text=f"{title}. Body.",
        body_html=f"<p>{title}. Body.</p>", language="en", published_at=when, filed_at=when,
        first_seen_at=when, backfill=False, content_hash=f"{title}-hash",
    )  # fmt: skip


def verdict(title: str, summary: str, importance: int = 80) -> Judgement:
    return Judgement(
        importance=importance, tier=Tier.FEATURED, hkr=HKR(True, True, False),
        tags=Tags(capabilities=("Reasoning",)), title_en=title, summary_en=summary,
        why="Worth a look.", editor="rules", policy_version="test",
    )  # fmt: skip


def seed(db: Database) -> dict[str, int]:
    def write(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
        repo.upsert_sources(conn, [
            Source(id="lab", name="Lab", url="https://lab.example/feed", tier=SourceTier.T1),
            Source(id="wire", name="Wire", url="https://wire.example/feed"),
        ], NOW)  # fmt: skip
        ids = {}
        for name, (n, src, title, ago) in {
            "lead": (1, "lab", "Lab ships Nova-2", 10),
            "other": (2, "wire", "Wire reports Nova-2", 5),
        }.items():
            item_id, _ = repo.save_item(conn, story(n, src, title, ago))
            repo.save_judgement(conn, item_id, verdict(title, f"{title}: first summary."), NOW)
            ids[name] = item_id
        return ids

    return db.write_sync(write)


@pytest.fixture(params=[0, TTL], ids=["cache-off", "cache-on"])
def desk(request, db: Database) -> Iterator[tuple[TestClient, Database, dict[str, int], int]]:
    ttl = request.param
    settings = load_settings(
        database_url=db.url, admin_password=PASSWORD, page_cache_seconds=ttl,
        data_dir="/nonexistent", api_rate_limit=0,
    )  # fmt: skip
    ids = seed(db)
    with TestClient(create_app(settings, db), base_url="http://desk.test") as client:
        yield client, db, ids, ttl


def card_of(page: str, item_id: int) -> str:
    """The HTML of one card on a page ('' when the page does not show it)."""
    found = re.search(rf'<article [^>]*id="item-{item_id}".*?</article>', page, re.DOTALL)
    return found.group(0) if found else ""


def shows(client: TestClient, ttl: int, check: Callable[[], bool]) -> float:
    """Seconds until `check()` holds: at once with the cache off, within the TTL with it on."""
    start = time.monotonic()
    deadline = start + (ttl + SLACK if ttl else 0)
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() > deadline:
            raise AssertionError(f"not shown {'at once' if not ttl else f'within {ttl} s'}")
        time.sleep(0.1)


def warm(client: TestClient, item_id: int) -> None:
    """The card is shown (and so kept by every cache) before the write."""
    assert "first summary" in card_of(client.get("/all").text, item_id)
    assert client.get(f"/items/{item_id}").status_code == 200
    assert client.get("/api/v1/items").status_code == 200


def page_has(client: TestClient, item_id: int, text: str) -> bool:
    return text in card_of(client.get("/all").text, item_id)


def everywhere(client: TestClient, item_id: int, text: str) -> bool:
    """The new state on the feed, the story's page and the API."""
    api = client.get("/api/v1/items").json()["items"]
    return (
        page_has(client, item_id, text)
        and text in client.get(f"/items/{item_id}").text
        and any(text in str(x) for x in api if x["id"] == item_id)
    )


def test_a_rejudged_story_shows_its_new_verdict(desk) -> None:
    client, db, ids, ttl = desk
    warm(client, ids["lead"])
    db.write_sync(lambda c: repo.save_judgement(
        c, ids["lead"], verdict("Lab ships Nova-2", "Rejudged: the real number is 41%.", 91), NOW
    ))  # fmt: skip
    shows(client, ttl, lambda: everywhere(client, ids["lead"], "Rejudged: the real number"))
    assert ">91<" in card_of(client.get("/all").text, ids["lead"])


def test_a_search_shows_a_rejudged_story_and_a_new_match_at_once(desk) -> None:
    """Searches are kept until the database changes too (publish/memo.py): a search answered
    a moment ago shows the re-judged card, and a story that now matches joins it."""
    client, db, ids, ttl = desk
    page, api = "/all?q=Nova-2", "/api/v1/search?q=Nova-2"

    def found(text: str) -> bool:
        items = client.get(api).json()["items"]
        return text in client.get(page).text and any(text in str(x) for x in items)

    for _ in range(3):  # asked again and again: kept now
        assert found("first summary")
    db.write_sync(lambda c: repo.save_judgement(
        c, ids["lead"], verdict("Lab ships Nova-2", "Searched: the real number is 41%.", 91), NOW
    ))  # fmt: skip
    shows(client, ttl, lambda: found("Searched: the real number"))
    assert not found("Lab ships Nova-3")

    def third(conn) -> None:  # type: ignore[no-untyped-def]
        item_id, _ = repo.save_item(conn, story(3, "wire", "Lab ships Nova-3", 1))
        repo.save_judgement(conn, item_id, verdict("Lab ships Nova-3", "Nova-2's successor."), NOW)

    db.write_sync(third)
    shows(client, ttl, lambda: found("Lab ships Nova-3"))


def test_a_write_by_another_process_shows_on_the_next_request(desk) -> None:
    """Pages keep what they read until the database changes (publish/memo.py); a pipeline
    process writes through its own connections. SQLite tells at once (data_version); on
    PostgreSQL the commit's notification arrives a moment later (store/changes.py)."""
    client, db, ids, ttl = desk
    warm(client, ids["lead"])
    for _ in range(3):  # kept now, and answered from what was kept
        assert "first summary" in card_of(client.get("/all").text, ids["lead"])
    pipeline = Database(db.url)  # another engine and pool: nothing shared with the server
    try:
        pipeline.write_sync(lambda c: repo.save_judgement(
            c, ids["lead"], verdict("Lab ships Nova-2", "Elsewhere: rejudged at 38%.", 90), NOW
        ))  # fmt: skip
    finally:
        pipeline.close()
    wait = ttl or (0 if db.is_sqlite else 1)
    shows(client, wait, lambda: everywhere(client, ids["lead"], "Elsewhere: rejudged at 38%"))


def test_a_commented_story_shows_its_take(desk) -> None:
    client, db, ids, ttl = desk
    warm(client, ids["lead"])
    take = Commentary(take_en="The gate split is the story.", sharp_en="Nobody measured it.")
    db.write_sync(lambda c: store_editor.save_commentary(c, ids["lead"], take, "test", None, NOW))
    shows(client, ttl, lambda: everywhere(client, ids["lead"], "The gate split is the story."))


def test_a_story_joined_to_an_event_shows_its_coverage(desk) -> None:
    client, db, ids, ttl = desk
    warm(client, ids["lead"])
    assert "also reported by" not in card_of(client.get("/all").text, ids["lead"])
    assert card_of(client.get("/all").text, ids["other"])

    def group(conn) -> None:  # type: ignore[no-untyped-def]
        ref = StoryRef(ids["lead"], None, "lab", "https://lab.example/1", "Lab ships Nova-2",
                       "", NOW)  # fmt: skip
        event_id = store_events.attach(conn, ref, GroupDecision(None, "lead"), NOW)
        other = StoryRef(ids["other"], None, "wire", "https://wire.example/2",
                         "Wire reports Nova-2", "", NOW)  # fmt: skip
        store_events.attach(conn, other, GroupDecision(event_id, "same_occurrence", 0.9), NOW)

    db.write_sync(group)
    # the lead's card counts the other source; the other story shows once, through its lead
    shows(client, ttl, lambda: page_has(client, ids["lead"], "also reported by 1 source"))
    shows(client, ttl, lambda: not card_of(client.get("/all").text, ids["other"]))
    # the coverage drawer and the story page name the other report
    drawer = f"/items/{ids['lead']}/members"
    shows(client, ttl, lambda: "Wire reports Nova-2" in client.get(drawer).text)
    shows(client, ttl, lambda: "Wire reports Nova-2" in client.get(f"/items/{ids['lead']}").text)


def test_a_revised_story_shows_its_revision(desk) -> None:
    client, db, ids, ttl = desk
    warm(client, ids["other"])
    revised = story(2, "wire", "Wire corrects Nova-2", 5)
    assert db.write_sync(lambda c: repo.save_item(c, revised))[1] == "revision"
    # a revision is judged again before readers see it: the old card is gone meanwhile
    shows(client, ttl, lambda: not card_of(client.get("/all").text, ids["other"]))
    db.write_sync(lambda c: repo.save_judgement(
        c, ids["other"], verdict("Wire corrects Nova-2", "The correction: 8 GPUs, not 80."), NOW
    ))  # fmt: skip
    shows(client, ttl, lambda: everywhere(client, ids["other"], "The correction: 8 GPUs"))
    assert "Wire corrects Nova-2" in card_of(client.get("/all").text, ids["other"])


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_editors_marks_are_theirs_on_cached_and_uncached_pages(desk) -> None:
    client, _db, ids, _ttl = desk
    lead, other = ids["lead"], ids["other"]
    anonymous = client.get("/all").text  # kept by the micro-cache when it is on
    page = client.get("/signin")
    client.post("/signin", data={"password": PASSWORD, "csrf": csrf_of(page.text)})
    token = csrf_of(client.get("/all").text)
    for path in ("/all", f"/items/{lead}"):
        card = card_of(client.get(path).text, lead)
        assert "☆ save" in card and "★ saved" not in card and 'aria-pressed="true"' not in card
    assert client.post(f"/items/{lead}/save", data={"csrf": token}).status_code == 200
    assert client.post(f"/items/{other}/feedback", data={"csrf": token, "kind": "up"}).is_success
    for path in ("/all", "/"):
        page_html = client.get(path).text
        if not card_of(page_html, lead):
            continue  # Hot shows featured stories too; /all always has both
        assert "★ saved" in card_of(page_html, lead)
        assert f'value="{token}"' in card_of(page_html, lead)  # this session's token
        voted = card_of(page_html, other)
        assert 'value="up" aria-pressed="true"' in voted, path
        assert 'value="down" aria-pressed="false"' in voted
    assert "★ saved" in card_of(client.get(f"/items/{lead}").text, lead)
    # a changed vote shows at once: the last one counts
    client.post(f"/items/{other}/feedback", data={"csrf": token, "kind": "down"})
    voted = card_of(client.get("/all").text, other)
    assert (
        'value="down" aria-pressed="true"' in voted and 'value="up" aria-pressed="false"' in voted
    )
    # unsaving shows at once too
    client.post(f"/items/{lead}/save", data={"csrf": token, "remove": "true"})
    assert "☆ save" in card_of(client.get("/all").text, lead)
    # an anonymous reader (cached page or not) never sees an editor's marks or token
    client.cookies.clear()
    for html in (anonymous, client.get("/all").text):
        assert token not in html and "★ saved" not in html and 'name="kind"' not in html
        assert "sign in to save" in card_of(html, lead)


def test_a_search_pages_through_every_match_the_filters_keep(db: Database) -> None:
    """The page's own limit must not cap the search's matches (both were bound as `n`): the
    newest matches are not Hot, the older ones are, and Hot finds them all, page by page."""
    from newsdesk.publish.read import HOT_TIERS, list_cards
    from newsdesk.store.search import index_item

    def write(conn) -> None:  # type: ignore[no-untyped-def]
        repo.upsert_sources(conn, [Source(id="lab", name="Lab", url="https://lab.example/f")], NOW)
        for n in range(8):
            title = f"Quokka report {n}"
            item_id, _ = repo.save_item(conn, story(n, "lab", title, 100 - n))
            j = verdict(title, f"{title}: the quokka numbers.", 80 if n < 4 else 62)
            repo.save_judgement(conn, item_id, j if n < 4 else _as_all(j), NOW)
            index_item(conn, item_id, title, j.summary_en)

    db.write_sync(write)
    with db.read() as conn:
        first = list_cards(conn, tiers=HOT_TIERS, q="quokka", limit=2)
        second = list_cards(conn, tiers=HOT_TIERS, q="quokka", limit=2, cursor=first.next_cursor)
    titles = [c["title"]["en"] for c in first.cards + second.cards]
    assert titles == [f"Quokka report {n}" for n in (3, 2, 1, 0)]


def _as_all(j: Judgement) -> Judgement:
    from dataclasses import replace

    return replace(j, tier=Tier.ALL)
