"""Notifications through apprise to a local JSON endpoint: what is sent, what never is."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from newsdesk.config import ConfigError
from newsdesk.notify import parse_targets
from newsdesk.runner.notify import dispatch, enqueue_new
from newsdesk.runner.reports import build_report
from newsdesk.store import outputs
from newsdesk.store import schema as t

from .conftest import demo_settings


class Inbox:
    """A local HTTP endpoint that records every JSON body POSTed to it."""

    def __init__(self, port: int = 0) -> None:
        self.messages: list[dict] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", 0))
                inbox.messages.append(json.loads(self.rfile.read(size)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def inbox():
    box = Inbox()
    yield box
    box.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_live(db, tier: str, tag: str | None = None) -> int:
    """Turn one demo story of a tier into live news first seen now."""
    i = t.items.c

    def run(conn) -> int:
        query = select(i.id).where(i.tier == tier, i.backfill.is_(True)).order_by(i.id)
        if tag:
            query = query.where(
                i.id.in_(select(t.item_tags.c.item_id).where(t.item_tags.c.tag == tag))
            )
        item_id = conn.execute(query.limit(1)).scalar_one()
        conn.execute(
            update(t.items).where(i.id == item_id)
            .values(backfill=False, first_seen_at=datetime.now(UTC))
        )  # fmt: skip
        return item_id

    return db.write_sync(run)


def test_targets_parse_and_errors() -> None:
    plain, filtered = parse_targets("json://a/x  {tier=p1,featured;tag=Agent;brief=no}json://b/y")
    assert plain.tiers == {"p1"} and plain.brief and not plain.tags
    assert (
        filtered.tiers == {"p1", "featured"} and filtered.tags == {"Agent"} and not filtered.brief
    )
    assert "json://a/x" not in plain.label
    for bad in ("nonsense", "{tier=all}json://a", "{color=red}json://a"):
        with pytest.raises(ConfigError):
            parse_targets(bad)


def test_live_p1_sent_backfill_and_excluded_never(desk, inbox) -> None:
    settings = demo_settings()
    live = make_live(desk, "p1")
    excluded = make_live(desk, "excluded")
    targets = parse_targets(inbox.url)
    now = datetime.now(UTC)
    asyncio.run(enqueue_new(desk, targets, now))
    counts = asyncio.run(dispatch(desk, settings, targets))
    assert counts == {"sent": 1, "failed": 0, "dropped": 0}
    (message,) = inbox.messages
    assert message["title"].startswith("P1 · "), message
    assert f"/items/{live}" in message["message"], message
    with desk.read() as conn:
        rows = outputs.notification_rows(conn)
    # Every other p1 of the demo is backfill: none of them, nor the excluded story, was queued.
    assert [(r["kind"], r["ref"], r["status"]) for r in rows] == [("story", str(live), "sent")]
    assert str(excluded) not in {r["ref"] for r in rows}
    # A second pass sends nothing again.
    asyncio.run(enqueue_new(desk, targets, now))
    assert asyncio.run(dispatch(desk, settings, targets))["sent"] == 0
    assert len(inbox.messages) == 1


def test_filters_daily_brief_and_retry(desk, inbox) -> None:
    settings = demo_settings()
    make_live(desk, "p1", tag="OpenAI")
    featured = make_live(desk, "featured")
    down = f"json://127.0.0.1:{closed_port()}/hook"
    targets = parse_targets(f"{{tier=featured;brief=no}}{inbox.url} {{tag=NoSuchTag}}{down}")
    asyncio.run(build_report(settings=settings, db=desk, kind="daily", day=date(2025, 1, 31)))
    asyncio.run(enqueue_new(desk, targets, datetime.now(UTC), briefs=["2025-01-31"]))
    counts = asyncio.run(dispatch(desk, settings, targets))
    # The featured-only target got the featured story and no brief; the tag-filtered target
    # matched no story but wants the brief, and its endpoint is down.
    assert counts == {"sent": 1, "failed": 1, "dropped": 0}
    assert [m["title"].split(" · ")[0] for m in inbox.messages] == ["FEATURED"]
    assert f"/items/{featured}" in inbox.messages[0]["message"]
    with desk.read() as conn:
        pending = outputs.pending_deliveries(conn, 5)
    assert [(r["kind"], r["attempts"]) for r in pending] == [("daily", 1)]
    # The brief goes out once the endpoint answers: retried on the next dispatch.
    revived = Inbox(int(down.split(":")[2].split("/")[0]))
    try:
        assert asyncio.run(dispatch(desk, settings, targets))["sent"] == 1
    finally:
        revived.close()
    assert [m["title"] for m in revived.messages] == ["Daily brief: Friday, 31 January 2025"]
    with desk.read() as conn:
        assert outputs.pending_deliveries(conn, 5) == []
