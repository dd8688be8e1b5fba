"""The whole pass over real HTTP, on both engines: collect → normalize → group → judge → read."""

from http.server import BaseHTTPRequestHandler
from pathlib import Path

from sqlalchemy import func, select

from conftest import Route
from newsdesk.config import load_settings
from newsdesk.domain import Source, SourceTier
from newsdesk.policy import load_policy
from newsdesk.publish.read import get_card, list_cards
from newsdesk.runner.local import run_once
from newsdesk.store import schema as t
from newsdesk.store.repo import list_source_rows

FIXTURES = Path(__file__).parents[1] / "fixtures"


def catalog(server) -> list[Source]:
    lab = server.add(
        "/lab.xml", Route((FIXTURES / "lab.xml").read_bytes(), headers={"ETag": '"lab-1"'})
    )
    wire = server.add("/wire.atom", Route((FIXTURES / "media.atom").read_bytes()))
    return [
        Source(id="lab", name="Example Lab", url=lab, tier=SourceTier.T1, group="vendor-official"),
        Source(id="wire", name="Example Wire", url=wire, tier=SourceTier.T2),
        Source(id="gone", name="Gone", url=server.base + "/missing.xml"),
        Source(id="html", name="Not a feed", url=server.add("/page", Route(b"<html>hi</html>"))),
    ]


async def test_full_pass_then_idempotent_second_pass(db, server) -> None:
    settings = load_settings(allow_private_urls=True)
    policy = load_policy()
    sources = catalog(server)

    first = await run_once(db, settings, policy, catalog=sources, demo=True)

    # Broken sources record their error; the others still land every item.
    assert first.failed == {"gone": "http_4xx", "html": "not_a_feed"}
    assert first.outcomes["new"] == 4  # 3 lab posts + 1 wire review
    assert first.outcomes["discovery"] == 1  # the wire's link to the lab post (tracking stripped)
    assert first.judged == 4
    with db.read() as conn:
        health = {r.id: r for r in list_source_rows(conn)}
        nova_id = conn.execute(
            select(t.items.c.id).where(t.items.c.title.like("Example Lab releases Nova-2%"))
        ).scalar_one()
        review_id = conn.execute(
            select(t.items.c.id).where(t.items.c.url.like("%nova-2-review"))
        ).scalar_one()
        rows = conn.execute(select(t.event_members.c.item_id, t.event_members.c.event_id))
        members = {r.item_id: r.event_id for r in rows}
        nova = get_card(conn, nova_id)
    assert health["gone"].last_error_code == "http_4xx" and health["gone"].consecutive_failures == 1
    assert health["lab"].status == "ok" and health["lab"].etag == '"lab-1"'
    # The lab post and the wire's review of it are one event covered by two sources.
    assert members[nova_id] == members[review_id]
    assert nova is not None and nova["event"]["sources_count"] == 2
    # Whichever fetch landed first, the story belongs to its first-hand source.
    assert nova["source"]["name"] == "Example Lab" and nova["editor"] == "rules"
    assert nova["url"] == "https://lab.example.com/blog/nova-2?utm_source=rss"

    second = await run_once(db, settings, policy, catalog=sources, demo=True)
    assert second.not_modified == 1  # the lab feed answered 304 to our ETag
    assert second.outcomes["new"] == 0 and second.judged == 0 and second.grouped == 0
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.items)).scalar_one() == 4
        assert conn.execute(select(func.count()).select_from(t.judgements)).scalar_one() == 4
        health = {r.id: r for r in list_source_rows(conn)}
    assert health["gone"].consecutive_failures == 2


async def test_last_modified_alone_is_sent_back_on_every_later_pass(db, server) -> None:
    """A feed with no ETag, only Last-Modified, costs headers only once we have seen it,
    including after a 304 (which carries no validator of its own)."""
    body, stamp = (FIXTURES / "media.atom").read_bytes(), "Wed, 01 Oct 2025 08:00:00 GMT"
    sent: list[str | None] = []

    def feed(handler: BaseHTTPRequestHandler) -> None:
        sent.append(handler.headers.get("If-Modified-Since"))
        if sent[-1] == stamp:
            handler.send_response(304)
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Last-Modified", stamp)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    sources = [Source(id="wire", name="Wire", url=server.add("/lm.atom", Route(handler=feed)))]
    settings, policy = load_settings(allow_private_urls=True), load_policy()
    runs = [await run_once(db, settings, policy, catalog=sources, demo=True) for _ in range(3)]
    assert sent == [None, stamp, stamp]
    assert [r.not_modified for r in runs] == [0, 1, 1] and runs[0].outcomes["new"] == 2


async def test_read_layer_hides_excluded_and_searches(db, server) -> None:
    settings = load_settings(allow_private_urls=True)
    await run_once(db, settings, load_policy(), catalog=catalog(server), demo=True)
    with db.read() as conn:
        everything = list_cards(conn)
        titles = [c["original_title"] for c in everything.cards]
        found = list_cards(conn, q="256K")
        # the wire's review is shown through its event's lead; paging runs over all stories
        page1 = list_cards(conn, limit=1, collapse_events=False)
        page2 = list_cards(conn, limit=1, cursor=page1.next_cursor, collapse_events=False)
    assert "Join our webinar on AI for retail" not in titles  # excluded by the editor
    assert "Nova-2 arrives: Example Lab's new model reads 256K tokens" not in titles  # its event's
    assert everything.cards[0]["event"]["sources_count"] == 2  # lead carries the coverage
    assert all(c["tier"] in ("p1", "featured", "all") for c in everything.cards)
    assert found.cards and all("256K" in c["summary"]["en"] + c["title"]["en"] for c in found.cards)
    assert page1.cards[0]["id"] != page2.cards[0]["id"]
    assert page1.cards[0]["filed_at"] >= page2.cards[0]["filed_at"]


async def test_collect_valve_stops_fetching(db, server) -> None:
    settings = load_settings(allow_private_urls=True, collect_enabled=False)
    summary = await run_once(db, settings, load_policy(), catalog=catalog(server), demo=True)
    assert summary.fetched == 0 and all(r.hits == 0 for r in server.routes.values())
