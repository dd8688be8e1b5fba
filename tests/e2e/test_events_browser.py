"""The events pages in a real browser (Debian's Chromium through Playwright)."""

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import schema as t
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade
from newsdesk.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_event_page_shows_lead_coverage_and_timeline(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    upgrade(db)
    settings = load_settings(allow_private_urls=True)
    with DemoFeedServer() as base:
        catalog = load_catalog(DEMO_CATALOG, demo_base=base)
        asyncio.run(run_once(db, settings, load_policy(), catalog=catalog, demo=True))
    with db.read() as conn:
        event_id = conn.execute(
            select(t.event_members.c.event_id)
            .join(t.items, t.items.c.id == t.event_members.c.item_id)
            .where(t.items.c.title == "Introducing Claude Sonnet 4.5")
        ).scalar_one()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/events/{event_id}")
            assert "Claude Sonnet 4.5" in page.locator("h1.page-title").inner_text()
            assert "also reported by 2" in page.locator(".coverage").first.inner_text()
            rows = page.locator(".timeline li.member")
            assert rows.count() == 3
            assert rows.nth(0).locator(".relation").inner_text() == "lead"
            assert "same occurrence" in rows.nth(1).locator(".relation").inner_text()
            assert page.locator(".timeline").get_by_text("机器前沿").is_visible()
            page.goto(f"http://127.0.0.1:{port}/events")
            assert page.locator("li.event").count() > 10
            page.locator(f'li.event[data-event="{event_id}"] a.event-link').click()
            page.wait_for_url(f"**/events/{event_id}")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.close()
