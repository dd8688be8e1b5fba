"""Every source kind through the real pass (run_once), push through the real web app, the
full-text step and source health, on both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from conftest import Route
from newsdesk.config import load_settings
from newsdesk.domain import Source, SourceTier
from newsdesk.policy import load_policy
from newsdesk.publish.sources import source_health
from newsdesk.runner.local import run_once
from newsdesk.store import schema as t
from newsdesk.store import sources as source_store
from newsdesk.web.app import create_app

RECENT = datetime.now(UTC) - timedelta(hours=3)
ARTICLE = (
    "<html><head><title>Long read</title></head><body><nav>Home | About</nav><article>"
    "<h1>The lab ships a model</h1>"
    + "".join(
        f"<p>Paragraph {n}: the lab describes its training run, its evaluation numbers and the "
        f"conditions of release in plain words so that readers can check them.</p>"
        for n in range(8)
    )
    + "</article><footer>© lab</footer></body></html>"
).encode()


def settings(**extra: object):
    return load_settings(allow_private_urls=True, fetch_timeout_seconds=5, **extra)


async def test_web_list_and_json_api_sources_land_items(db, server) -> None:
    page = f"""<html><body>
      <div class="card"><a href="/p/1"><h3>Lab post one</h3></a>
        <time datetime="{RECENT.isoformat()}"></time><p class="dek">A short dek.</p></div>
      <div class="card"><a href="/p/2"><h3>Lab post two</h3></a>
        <time datetime="{RECENT.isoformat()}"></time></div></body></html>""".encode()
    api = {"data": {"posts": [
        {"id": 7, "headline": "API story", "slug": "api-story", "ts": int(RECENT.timestamp()),
         "stats": {"votes": 12}},
    ]}}  # fmt: skip
    sources = [
        Source(id="list", name="List", url=server.add("/news", Route(page)), kind="web_list",
               options={"item": "div.card", "title": "h3", "date": "time", "summary": ".dek"}),
        Source(id="api", name="API", url=server.add("/api", Route(json.dumps(api).encode())),
               kind="json_api", options={
                   "items": "data.posts", "title": "headline", "date": "ts", "link": "none",
                   "link_template": server.base + "/s/{slug}",
                   "signals": {"votes": "stats.votes"}}),
    ]  # fmt: skip
    summary = await run_once(db, settings(fulltext_enabled=False), load_policy(), catalog=sources)
    assert summary.failed == {}
    with db.read() as conn:
        rows = {r.url: r for r in conn.execute(select(t.items))}
    assert set(rows) == {server.base + "/p/1", server.base + "/p/2", server.base + "/s/api-story"}
    assert rows[server.base + "/p/1"].title == "Lab post one"
    assert (
        rows[server.base + "/p/1"].published_at == RECENT.replace(microsecond=0)
        or rows[server.base + "/p/1"].published_at == RECENT
    )
    assert rows[server.base + "/s/api-story"].signals == {"votes": 12}


async def test_push_source_through_the_ingest_api(db) -> None:
    now = datetime.now(UTC)
    push = Source(id="pusher", name="Pusher", url="https://pusher.example.com/", kind="push",
                  tier=SourceTier.T2)  # fmt: skip
    db.write_sync(lambda c: source_store.import_sources(c, [push], now))
    db.write_sync(lambda c: source_store.set_token(c, "pusher", "s3cret-token"))
    with db.read() as conn:
        stored = conn.execute(select(t.sources.c.token_hash)).scalar_one()
    assert stored != "s3cret-token" and len(stored) == 64  # kept hashed

    client = TestClient(create_app(settings(), db))
    auth = {"Authorization": "Bearer s3cret-token"}
    assert client.post("/api/ingest", json={"items": []}).status_code == 401
    assert client.post("/api/ingest", json={"items": []},
                       headers={"Authorization": "Bearer wrong"}).status_code == 401  # fmt: skip
    too_many = [{"title": f"t{n}"} for n in range(51)]
    assert client.post("/api/ingest", json={"items": too_many}, headers=auth).status_code == 413
    items = [
        {"title": "Pushed story", "url": "https://pusher.example.com/a",
         "published": RECENT.isoformat(), "summary": "<p>Body <script>x()</script></p>"},
        {"title": "No scheme", "url": "ftp://pusher.example.com/b"},
        {"summary": "neither title nor url"},
        "not an object",
        {"title": "Bad date", "published": "last tuesday"},
        {"title": "Second pushed", "url": "https://pusher.example.com/c", "authors": ["Ann"]},
    ]  # fmt: skip
    answer = client.post("/api/ingest", json={"items": items}, headers=auth)
    assert answer.status_code == 202
    body = answer.json()
    assert body["accepted"] == 2 and body["rejected"] == 4
    assert [e["index"] for e in body["errors"]] == [1, 2, 3, 4]
    assert "http(s)" in body["errors"][0]["error"]

    # nothing is stored until the collect step takes the queue
    summary = await run_once(db, settings(fulltext_enabled=False), load_policy())
    assert summary.failed == {} and summary.outcomes["new"] == 2
    with db.read() as conn:
        rows = {r.url: r for r in conn.execute(select(t.items))}
        pending = conn.execute(
            select(t.pushed_entries.c.id).where(t.pushed_entries.c.taken_at.is_(None))
        ).all()
    assert pending == []
    assert "script" not in rows["https://pusher.example.com/a"].body_html
    assert rows["https://pusher.example.com/c"].authors == ["Ann"]

    # rate limit: 10 calls a minute per source (the two authenticated calls above counted)
    codes = [
        client.post("/api/ingest", json={"items": []}, headers=auth).status_code for _ in range(9)
    ]
    assert codes == [202] * 8 + [429]
    limited = client.post("/api/ingest", json={"items": []}, headers=auth)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_read_token_does_not_gate_ingest(db) -> None:
    """NEWSDESK_API_READ_TOKEN guards the read API; a push source sends its own token to
    /api/ingest, and the read token neither blocks it nor stands in for it."""
    now = datetime.now(UTC)
    push = Source(id="pusher", name="Pusher", url="https://pusher.example.com/", kind="push",
                  tier=SourceTier.T2)  # fmt: skip
    db.write_sync(lambda c: source_store.import_sources(c, [push], now))
    db.write_sync(lambda c: source_store.set_token(c, "pusher", "push-token"))
    client = TestClient(create_app(settings(api_read_token="read-token"), db))
    story = {
        "items": [{"title": "Pushed with a read token set", "url": "https://pusher.example.com/r"}]
    }
    pushed = client.post("/api/ingest", json=story, headers={"Authorization": "Bearer push-token"})
    assert pushed.status_code == 202 and pushed.json()["accepted"] == 1
    read_only = client.post(
        "/api/ingest", json=story, headers={"Authorization": "Bearer read-token"}
    )
    assert read_only.status_code == 401  # the read token is not a push source's token
    assert client.get("/api/v1/items").status_code == 401  # the read API stays guarded
    assert client.get("/api/v1/items?token=read-token").status_code == 200


async def test_full_text_completes_teasers_and_marks_thin_pages(db, server) -> None:
    long_url = server.add("/article", Route(ARTICLE))
    thin_url = server.add("/thin", Route(b"<html><body><p>Subscribe to read.</p></body></html>"))
    date = RECENT.strftime("%a, %d %b %Y %H:%M:%S GMT")
    feed = f"""<rss version="2.0"><channel><title>Teasers</title>
      <item><title>Model ships</title><link>{long_url}</link><pubDate>{date}</pubDate>
        <description>A teaser.</description></item>
      <item><title>Paywalled</title><link>{thin_url}</link><pubDate>{date}</pubDate>
        <description>Another teaser.</description></item>
      <item><title>Missing page</title><link>{server.base}/gone</link><pubDate>{date}</pubDate>
        <description>Third teaser.</description></item>
    </channel></rss>""".encode()
    source = Source(id="teasers", name="Teasers", url=server.add("/feed", Route(feed)))
    summary = await run_once(db, settings(), load_policy(), catalog=[source])
    assert summary.full_text == {"ok": 1, "unconfirmed": 2}
    with db.read() as conn:
        rows = {r.url: r for r in conn.execute(select(t.items))}
    full = rows[long_url]
    assert full.fulltext_status == "ok"
    assert "Paragraph 7" in full.body_text and "Home | About" not in full.body_text
    assert full.body_html.startswith("<p>")
    thin = rows[thin_url]
    assert thin.fulltext_status == "unconfirmed" and thin.body_text == "Another teaser."
    assert rows[server.base + "/gone"].fulltext_status == "unconfirmed"

    # a second pass with the same teasers changes nothing and fetches no page again
    hits = server.routes["/article"].hits
    again = await run_once(db, settings(), load_policy(), catalog=[source])
    assert again.outcomes == {"unchanged": 3} and again.full_text == {}
    assert server.routes["/article"].hits == hits


async def test_health_backoff_and_failing(db, server) -> None:
    ok = Source(id="ok", name="OK", url=server.add("/ok", Route(
        f"<rss version='2.0'><channel><title>x</title><ttl>180</ttl><item><title>A</title>"
        f"<link>https://ok.example.com/a</link><pubDate>"
        f"{RECENT.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item></channel></rss>"
        .encode())), cadence_min=15, cadence_max=1440)  # fmt: skip
    bad = Source(id="bad", name="Bad", url=server.add("/bad", Route(b"no", status=503)),
                 cadence_min=15, cadence_max=1440)  # fmt: skip
    for _ in range(5):
        await run_once(db, settings(fulltext_enabled=False), load_policy(), catalog=[ok, bad])
    now = datetime.now(UTC)
    with db.read() as conn:
        health = {h["id"]: h for h in source_health(conn)}
    assert health["bad"]["status"] == "failing"
    assert health["bad"]["consecutive_failures"] == 5
    assert health["bad"]["last_error_code"] == "http_5xx"
    assert "503" in health["bad"]["last_error_message"]
    assert health["bad"]["last_success_at"] is None
    # failing: still retried, daily
    next_bad = datetime.fromisoformat(health["bad"]["next_poll_at"])
    assert timedelta(hours=23) < next_bad - now <= timedelta(hours=24, minutes=1)
    good = health["ok"]
    assert good["status"] == "ok" and good["items_7d"] == 1 and good["items_total"] == 1
    assert good["last_success_at"] and good["last_error_code"] is None
    # one item a week is quiet (upper bound), and <ttl>180 is a floor below it anyway
    next_ok = datetime.fromisoformat(good["next_poll_at"])
    assert next_ok - now > timedelta(hours=23)
