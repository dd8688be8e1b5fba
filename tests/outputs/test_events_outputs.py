"""Events in the outputs: the cursor-paginated list, the Markdown rendering, the OpenAPI
document naming every endpoint of API v1, and llms.txt pointing at them."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select, update

from newsdesk.publish import agents
from newsdesk.store import schema as t

API_V1 = {
    "/api/v1/items", "/api/v1/items/{item_id}", "/api/v1/events", "/api/v1/events/{event_id}",
    "/api/v1/hot", "/api/v1/search", "/api/v1/sources", "/api/v1/tags", "/api/v1/daily",
    "/api/v1/daily/{period}", "/api/v1/weekly", "/api/v1/weekly/{period}", "/api/v1/monthly",
    "/api/v1/monthly/{period}",
}  # fmt: skip


def _all_pages(client, order: str, limit: int) -> list[dict]:
    seen, cursor = [], None
    while True:
        params = {"order": order, "limit": limit} | ({"cursor": cursor} if cursor else {})
        answer = client.get("/api/v1/events", params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += body["events"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_events_list_newest_and_by_heat(client_for, desk) -> None:
    client = client_for()
    hot = client.get("/api/v1/hot", params={"limit": 100}).json()["events"]
    total = len(hot)
    assert total >= 3, "the demo desk has events"
    newest = _all_pages(client, "newest", 2)
    assert len(newest) == total and len({e["id"] for e in newest}) == total  # no repeat, no gap
    stamps = [(datetime.fromisoformat(e["last_seen_at"]), e["id"]) for e in newest]
    assert stamps == sorted(stamps, reverse=True)
    # Give the events distinct heats so "heat" order is observable, then page through it.
    ids = [e["id"] for e in newest]
    for n, event_id in enumerate(ids):
        heat = float((n * 7) % len(ids)) + 0.5
        _set_heat(desk, event_id, heat)
    by_heat = _all_pages(client, "heat", 2)
    heats = [e["heat"] for e in by_heat]
    assert len(by_heat) == total and heats == sorted(heats, reverse=True)
    assert {e["id"] for e in by_heat} == set(ids)
    # The same public events the hot list shows, each with its lead story.
    assert {e["id"] for e in newest} == {e["id"] for e in hot}
    assert all(e["lead"] and e["lead"]["id"] for e in newest)
    # A cursor is tied to its order and to this desk.
    first = client.get("/api/v1/events", params={"order": "heat", "limit": 1}).json()
    wrong = client.get("/api/v1/events", params={"order": "newest", "cursor": first["next_cursor"]})
    assert wrong.status_code == 400 and "cursor" in wrong.json()["error"]
    assert client.get("/api/v1/events", params={"cursor": "not-ours"}).status_code == 400
    assert client.get("/api/v1/events", params={"order": "random"}).status_code == 422


def _run_write(desk, statement) -> None:
    async def go() -> None:
        await desk.write(lambda c: c.execute(statement))

    asyncio.run(go())


def _set_heat(desk, event_id: int, heat: float) -> None:
    _run_write(desk, update(t.events).where(t.events.c.id == event_id).values(heat=heat))


def test_event_markdown_and_hidden_events(client_for, desk) -> None:
    client = client_for()
    event = client.get("/api/v1/events", params={"limit": 1}).json()["events"][0]
    md = client.get(f"/events/{event['id']}.md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    text = md.text
    assert text.startswith(f"# Event {event['id']}\n")
    assert "## Lead story" in text and "## Coverage, oldest first" in text
    assert f"http://desk.test/items/{event['lead']['id']}" in text
    assert "<untrusted-source-content>" in text and event["title"]["en"] in text
    # The MCP tools read the same layer and point agents at the Markdown.
    with desk.read() as conn:
        hot_md = agents.hot_events_md(conn, "http://desk.test", 100)
        assert agents.event_md(conn, "http://desk.test", event["id"]) == text.rstrip("\n")
    assert f"http://desk.test/events/{event['id']}.md" in hot_md
    # The HTML page is still the page.
    assert client.get(f"/events/{event['id']}").headers["content-type"].startswith("text/html")
    # An event the read layer hides (all its stories excluded) has no Markdown either.
    with desk.read() as conn:
        members = [
            r.item_id
            for r in conn.execute(
                select(t.event_members.c.item_id).where(t.event_members.c.event_id == event["id"])
            )
        ]
    _run_write(desk, update(t.items).where(t.items.c.id.in_(members)).values(tier="excluded"))
    gone = client_for()  # a fresh app: no page cache from before
    assert gone.get(f"/events/{event['id']}.md").status_code == 404
    assert event["id"] not in {e["id"] for e in _all_pages(gone, "newest", 50)}
    with desk.read() as conn:
        assert agents.event_md(conn, "http://desk.test", event["id"]).startswith("No public event")
        assert f"/events/{event['id']}.md" not in agents.hot_events_md(
            conn, "http://desk.test", 100
        )
    assert gone.get("/events/999999.md").status_code == 404


def test_openapi_names_every_api_v1_endpoint_and_llms_points_at_them(client_for) -> None:
    client = client_for()
    paths = set(client.get("/api/v1/openapi.json").json()["paths"])
    missing = API_V1 - paths
    assert not missing, f"missing from OpenAPI: {sorted(missing)}"
    llms = client.get("/llms.txt").text
    for needle in ("/api/v1/events?order=newest|heat", "/events/ID.md", "/api/v1/hot",
                   "/weekly/YYYY-MM-DD.md"):  # fmt: skip
        assert needle in llms
