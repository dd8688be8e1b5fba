"""The admin desk on both engines: flagged stories, merge/split of events through CSRF-checked
forms (kept by a regroup), and a source added in the admin pages whose test fetch the runner
performs against the local test server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from conftest import Route
from newsdesk.config import load_settings
from newsdesk.domain import Source, SourceTier
from newsdesk.policy import load_policy
from newsdesk.runner.events import group_pending
from newsdesk.runner.local import run_once
from newsdesk.store import events as ev
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.web.app import create_app

PASSWORD = "desk-pass-2"
NOW = datetime.now(UTC)


def _seed(db) -> dict[str, object]:
    """Four stories: A and B in event 1, C in event 2 (all automatic), D alone in event 3."""

    def write(conn) -> dict[str, object]:
        lab = Source(id="lab", name="Lab", url="https://lab.example/feed", tier=SourceTier.T1)
        repo.upsert_sources(conn, [lab], NOW)
        items = {}
        stories = (("N", "Nova-2 ships"), ("review", "Nova-2 review"), ("O", "Orbit funding"),
                   ("D", "Quiet"))  # fmt: skip
        for n, (key, title) in enumerate(stories):
            when = NOW - timedelta(hours=n + 1)
            items[key] = conn.execute(
                insert(t.items).values(
                    identity_key=f"a{n}", source_id="lab", url=f"https://lab.example/{n}",
                    title=title, language="en", published_at=when, filed_at=when,
                    first_seen_at=when, updated_at=when, content_hash=f"h{n}", tier="featured",
                    importance=80,
                ).returning(t.items.c.id)
            ).scalar_one()  # fmt: skip
        events = []
        for lead in ("N", "O", "D"):
            events.append(conn.execute(
                insert(t.events).values(
                    title_en=lead, lead_item_id=items[lead], first_seen_at=NOW, last_seen_at=NOW,
                    created_at=NOW, updated_at=NOW,
                ).returning(t.events.c.id)
            ).scalar_one())  # fmt: skip
        members = [(items["N"], events[0], "lead"), (items["review"], events[0], "follow_up"),
                   (items["O"], events[1], "lead"), (items["D"], events[2], "lead")]  # fmt: skip
        for item_id, event_id, relation in members:
            conn.execute(insert(t.event_members).values(
                item_id=item_id, event_id=event_id, relation=relation, manual=False, added_at=NOW,
            ))  # fmt: skip
        conn.execute(insert(t.guard_flags).values(
            item_id=items["O"], step="judge", field="summary_en", action="repaired",
            spans=["$40B", "GPT-9"], text="Orbit raised money.", created_at=NOW,
        ))  # fmt: skip
        return {"events": events, **items}

    return db.write_sync(write)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def client(db):
    settings = load_settings(database_url=db.url, admin_password=PASSWORD, data_dir="/nonexistent",
                             page_cache_seconds=0)  # fmt: skip
    seeded = _seed(db)
    with TestClient(create_app(settings, db), base_url="http://desk.test") as c:
        c.seeded = seeded  # type: ignore[attr-defined]
        yield c


def sign_in(client) -> str:
    page = client.get("/signin")
    r = client.post("/signin", data={"password": PASSWORD, "csrf": csrf_of(page.text)})
    assert r.status_code == 200
    return csrf_of(client.get("/admin/events").text)


def members(db, event_id: int) -> set[int]:
    with db.read() as conn:
        m = t.event_members.c
        return set(conn.execute(select(m.item_id).where(m.event_id == event_id)).scalars())


GETS = ["/admin/flagged", "/admin/events", "/admin/events?event=1"]
WRITES = [("/admin/events/merge", {"keep": "1", "other": "2"}),
          ("/admin/events/1/split", {"item": "1"}),
          ("/admin/sources/new", {"id": "x1", "name": "X", "url": "https://x.example/feed"}),
          ("/admin/sources/x1/retest", {})]  # fmt: skip


def test_admin_desk_refuses_anonymous_and_forged_requests(client, db) -> None:
    for path in GETS:
        r = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next="), path
        assert client.get(path, headers={"accept": "application/json"}).status_code == 401
    for path, form in WRITES:
        assert client.post(path, data=form, follow_redirects=False).status_code == 401, path
    sign_in(client)
    for path, form in WRITES:
        for token in ("forged", ""):
            r = client.post(path, data=form | {"csrf": token}, follow_redirects=False)
            assert r.status_code == 403, (path, token)
    events = client.seeded["events"]  # type: ignore[attr-defined]
    assert members(db, events[1]) == {client.seeded["O"]}  # type: ignore[attr-defined]
    with db.read() as conn:
        assert conn.execute(select(t.sources).where(t.sources.c.id == "x1")).first() is None


def test_flagged_stories_list_field_and_reason(client) -> None:
    sign_in(client)
    page = client.get("/admin/flagged")
    assert page.status_code == 200
    assert "Orbit funding" in page.text and "summary_en" in page.text
    assert "repaired: not in the source text or context: $40B, GPT-9" in page.text
    assert "Nova-2 ships" not in page.text  # only flagged stories are listed


async def test_merge_and_split_forms_survive_a_regroup(client, db) -> None:
    csrf = sign_in(client)
    s = client.seeded  # type: ignore[attr-defined]
    first, second, third = s["events"]
    page = client.get(f"/admin/events?event={first}")
    assert "Nova-2 review" in page.text and "split out" in page.text
    assert client.get("/admin/events?event=999999").status_code == 404

    r = client.post("/admin/events/merge", data={"csrf": csrf, "keep": first, "other": second},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/admin/events?event={first}"
    assert members(db, first) == {s["N"], s["review"], s["O"]}
    r = client.post(f"/admin/events/{first}/split", data={"csrf": csrf, "item": s["review"]},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    split_event = int(r.headers["location"].rsplit("=", 1)[1])
    assert members(db, split_event) == {s["review"]}
    # A wrong request is one clear 400, not a crash.
    bad = client.post("/admin/events/merge", data={"csrf": csrf, "keep": first, "other": first})
    assert bad.status_code == 400 and "into itself" in bad.text
    bad = client.post(f"/admin/events/{third}/split", data={"csrf": csrf, "item": s["D"]})
    assert bad.status_code == 400 and "alone" in bad.text

    # A regroup forgets automatic decisions only: the editor's merge and split stay.
    now = datetime.now(UTC)
    reset = await db.write(lambda c: ev.reset_grouping(c, None, now))
    assert reset == 1  # story D was placed by grouping
    await group_pending(db, now)
    assert members(db, first) == {s["N"], s["O"]}
    assert members(db, split_event) == {s["review"]}
    with db.read() as conn:
        m = t.event_members.c
        assert conn.execute(select(m.event_id).where(m.item_id == s["D"])).scalar_one()
        manual = dict(conn.execute(select(m.item_id, m.manual)).all())
    assert manual[s["N"]] and manual[s["O"]] and manual[s["review"]] and not manual[s["D"]]
    page = client.get(f"/admin/events?event={first}")
    assert page.text.count(">editor<") == 2


async def test_added_source_is_test_fetched_by_the_runner_then_enabled(client, db, server) -> None:
    csrf = sign_in(client)
    # the seeded source points at a made-up host: keep it out of the passes (no network)
    db.write_sync(lambda c: c.execute(t.sources.update().values(enabled=False)))
    date = (NOW - timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    items = "".join(
        f"<item><title>Lab note {n}</title><link>https://lab.example.com/{n}</link>"
        f"<pubDate>{date}</pubDate><description>Note {n} of the lab.</description></item>"
        for n in range(3)
    )
    feed = f"<rss version='2.0'><channel><title>Lab</title>{items}</channel></rss>".encode()
    good = server.add("/lab.xml", Route(feed, headers={"content-type": "application/rss+xml"}))
    broken = server.add("/gone.xml", Route(b"nothing here", status=404))
    for sid, url in (("lab-two", good), ("gone", broken)):
        r = client.post("/admin/sources/new", data={
            "csrf": csrf, "id": sid, "name": sid.title(), "url": url, "group": "research",
            "language": "en", "tier": "T1"}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303
    # Invalid forms are refused with one line; a duplicate id is a conflict.
    for form, code in (({"id": "Bad Id!", "url": good}, 400), ({"id": "x2", "url": "ftp://x"}, 400),
                       ({"id": "lab-two", "url": good}, 409)):  # fmt: skip
        r = client.post("/admin/sources/new", data={"csrf": csrf, "name": "N", **form})
        assert r.status_code == code, form
    page = client.get("/admin/sources")
    assert page.text.count("waiting for the next pass") == 2
    hits_before = server.routes["/lab.xml"].hits
    assert hits_before == 0  # the page stored the source; nothing was fetched

    settings = load_settings(database_url=db.url, allow_private_urls=True, fulltext_enabled=False)
    summary = await run_once(db, settings, load_policy())
    assert summary.sources == 0  # both stay disabled: tested, not collected
    assert server.routes["/lab.xml"].hits == 1
    with db.read() as conn:
        rows = {r.id: r for r in conn.execute(select(t.sources))}
        assert conn.execute(select(t.items).where(t.items.c.source_id != "lab")).first() is None
    assert rows["lab-two"].status == "tested" and not rows["lab-two"].enabled
    assert rows["gone"].status == "test_failed" and rows["gone"].last_error_code
    page = client.get("/admin/sources")
    assert "waiting for the next pass" not in page.text
    assert re.search(r'<td class="num">3</td>', page.text)  # entries found in the feed
    assert f"<code>{rows['gone'].last_error_code}</code>" in page.text

    # The editor enables the good one; the next pass collects it like any source.
    r = client.post("/admin/sources/lab-two", data={"csrf": csrf, "enabled": "true"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    summary = await run_once(db, settings, load_policy())
    assert summary.sources == 1, summary
    with db.read() as conn:
        assert conn.execute(select(t.sources.c.status).where(t.sources.c.id == "lab-two")).scalar()
        stored = conn.execute(select(t.items.c.source_id).where(t.items.c.source_id != "lab"))
        assert set(stored.scalars()) == {"lab-two"}
    # A failed source can be tested again; the runner does it on its next pass.
    r = client.post("/admin/sources/gone/retest", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.post("/admin/sources/lab-two/retest", data={"csrf": csrf}).status_code == 404
    await run_once(db, settings, load_policy())
    assert server.routes["/gone.xml"].hits == 2


def test_coverage_drawer_names_sources_that_shared_the_link(client, db) -> None:
    s = client.seeded  # type: ignore[attr-defined]

    def write(conn) -> None:
        hn = Source(id="hn", name="Hacker Signal", url="https://hn.example/rss", tier=SourceTier.T3)
        repo.upsert_sources(conn, [hn], NOW)
        conn.execute(insert(t.discoveries).values(
            item_id=s["N"], source_id="hn", url="https://lab.example/0?ref=hn", seen_at=NOW,
        ))  # fmt: skip

    db.write_sync(write)
    drawer = client.get(f"/items/{s['N']}/members", headers={"hx-request": "true"}).text
    assert drawer.count("<li") == 3  # the story, the follow-up, and the source that linked it
    assert "Hacker Signal" in drawer and "shared the link" in drawer and "(this story)" in drawer
