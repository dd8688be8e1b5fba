"""Personal alerts on both engines, delivered through apprise to a local JSON endpoint: a
story at once, a daily digest, each sent once across passes (the outbox), never for backfill
or for stories from before the follow, a followed event only for new facts, `alerts preview`,
and the unsubscribe link in every message."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import update
from test_follows import add_story, join_event
from test_people import cli, sign_in
from test_people import desk as desk

from newsdesk.config import load_settings
from newsdesk.runner import alerts
from newsdesk.store import schema as t


class Inbox:
    """A local endpoint that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def inbox():
    box = Inbox()
    yield box
    box.server.shutdown()
    box.server.server_close()


def run(db, now: datetime | None = None) -> dict[str, int]:
    settings = load_settings(database_url=db.url, daily_hour=0, public_url="http://desk.test")
    return asyncio.run(alerts.run(db, settings, now or datetime.now(UTC)))


def test_alerts_are_sent_once_never_for_backfill_and_stop_on_unsubscribe(desk, db, inbox) -> None:
    before = add_story(db, "DeepSeek story from before the follow")
    reader = desk()
    csrf = sign_in(reader, "ann")
    assert reader.post("/account/alerts", data={"csrf": csrf, "url": inbox.url, "label": "hook"},
                       follow_redirects=False).status_code == 303  # fmt: skip
    assert (
        reader.post("/account/alerts", data={"csrf": csrf, "url": "not a url"}).status_code == 400
    )
    reader.post("/follow", data={"csrf": csrf, "kind": "entity", "target": "DeepSeek"})
    with db.read() as conn:
        follow_id = conn.execute(t.follows.select()).first().id
    reader.post(f"/following/{follow_id}/alert", data={"csrf": csrf, "alert": "immediate"})
    assert run(db) == {"sent": 0, "failed": 0, "dropped": 0}  # nothing new since the follow

    backfill = add_story(db, "DeepSeek old paper, found late")
    db.write_sync(lambda c: c.execute(update(t.items).where(t.items.c.id == backfill)
                                      .values(backfill=True)))  # fmt: skip
    fresh = add_story(db, "DeepSeek opens R3 weights")
    preview = cli(db, "alerts", "preview", "ann", "--json")
    assert preview.exit_code == 0, preview.output
    planned = json.loads(preview.output)
    assert [p["stories"] for p in planned] == [[fresh]] and planned[0]["kind"] == "alert"

    assert run(db)["sent"] == 1  # pass one
    assert run(db)["sent"] == 0  # pass two: the outbox already sent it
    assert len(inbox.messages) == 1
    body = inbox.messages[0]["message"]
    assert "DeepSeek opens R3 weights" in body and "old paper" not in body
    assert "from before the follow" not in body and str(before)
    assert "nothing to send to ann now" in cli(db, "alerts", "preview", "ann").output

    link = re.search(r"http://desk\.test(/unsubscribe/\d+/[0-9a-f]+)", body).group(1)  # type: ignore[union-attr]
    anonymous = desk()
    assert "stop my alerts" in anonymous.get(link).text
    assert anonymous.get(link[:-4] + "beef").status_code == 404
    assert "no more alerts" in anonymous.post(link).text
    add_story(db, "DeepSeek R3 lands in the cloud")
    assert run(db)["sent"] == 0 and len(inbox.messages) == 1


def test_daily_digest_once_and_event_alerts_only_for_new_facts(desk, db, inbox) -> None:
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    lead = add_story(db, "DeepSeek ships R3", when=yesterday.replace(hour=10, minute=0))
    event = join_event(db, lead, None, "lead")
    add_story(db, "Reasoning benchmark update", when=yesterday.replace(hour=11, minute=0))
    reader = desk()
    csrf = sign_in(reader, "ann")
    reader.post("/account/alerts", data={"csrf": csrf, "url": inbox.url})
    reader.post("/follow", data={"csrf": csrf, "kind": "tag", "target": "Reasoning"})
    reader.post("/follow", data={"csrf": csrf, "kind": "event", "target": str(event)})
    with db.read() as conn:
        rows = {r.kind: r.id for r in conn.execute(t.follows.select())}
    reader.post(f"/following/{rows['tag']}/alert", data={"csrf": csrf, "alert": "daily"})
    reader.post(f"/following/{rows['event']}/alert", data={"csrf": csrf, "alert": "immediate"})
    # followed three days ago, so yesterday's stories are the digest's
    then = now - timedelta(days=3)
    db.write_sync(lambda c: c.execute(update(t.follows).values(created_at=then, seen_at=then)))

    assert run(db)["sent"] == 1 and run(db)["sent"] == 0
    digest = inbox.messages[0]
    assert "Daily digest for ann" in digest["title"]
    assert (
        "Reasoning benchmark update" in digest["message"] and "/unsubscribe/" in digest["message"]
    )

    repeat = add_story(db, "Outlet repeats: DeepSeek ships R3")
    join_event(db, repeat, event, "same_occurrence")
    assert run(db)["sent"] == 0  # a repeat is no news
    development = add_story(db, "DeepSeek R3 gets a price cut")
    join_event(db, development, event, "same_story")
    assert run(db)["sent"] == 1
    assert "price cut" in inbox.messages[1]["message"]
