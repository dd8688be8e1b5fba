"""Every page with a picture, in a real browser (Playwright on Debian's Chromium), on the demo
desk read on its own clock: screenshots at 1280 and 375 px, light and dark, go to
test-artifacts/pictures-*.png. At 375 px nothing scrolls sideways; every picture has its
accessible name; the page logs no error (a CSP refusal would show as one)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsdesk.runner.policy import preview_version
from newsdesk.store import schema as t
from newsdesk.web.app import create_app

from .conftest import demo_settings
from .test_mcp import serve
from .test_pages_browser import ARGS, CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pictures-browser-password"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def seed_usage(desk) -> None:
    """Calls a fake model made over a fortnight, and a daily budget, for /admin/usage."""
    now = datetime.now(UTC)
    rows = []
    for back in range(14):
        for purpose, model, n, price in (("judge", "fake-editor", 40, 0.0004),
                                         ("comment", "fake-writer", 6, 0.002)):  # fmt: skip
            calls = n + (back * 7) % 11
            rows.append({"service": "fake", "purpose": purpose, "model": model,
                         "tokens_in": 900 * calls, "tokens_out": 150 * calls,
                         "cost": round(calls * price, 6),
                         "created_at": now - timedelta(days=back, hours=1)})  # fmt: skip
    desk.write_sync(lambda c: c.execute(t.usage.insert(), rows))
    desk.write_sync(lambda c: c.execute(t.budgets.insert().values(
        service="fake", window="day", max_cost=0.04)))  # fmt: skip


def test_pictures_in_a_browser(desk) -> None:
    from playwright.sync_api import sync_playwright

    seed_usage(desk)
    settings = demo_settings(demo=True, admin_password=PASSWORD)
    with desk.read() as conn:
        developed = conn.execute(
            select(t.event_members.c.event_id).where(t.event_members.c.relation == "same_story")
        ).scalars().all()  # fmt: skip
    server, base = serve(create_app(settings, desk))
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "/signin")
            page.fill("#password", PASSWORD)
            page.click("button:has-text('Sign in')")
            page.wait_for_url("**/")
            page.goto(base + "/admin/policy")
            version = re.search(r"/admin/policy/([0-9a-f]+)/preview", page.content()).group(1)  # type: ignore[union-attr]
            with ThreadPoolExecutor(1) as pool:  # Playwright owns this thread's event loop
                pool.submit(preview_version, desk, settings, version, 3650).result()
            event = max(developed)  # an event a development joined
            pages = {
                "events": "/events", "event": f"/events/{event}", "sources": "/sources",
                "admin-sources": "/admin/sources", "usage": "/admin/usage",
                "runs": "/admin/runs", "policy": f"/admin/policy?version={version}",
            }  # fmt: skip
            # Hot events as a reader sees them: several with heat, a marker, and each hot
            # event's sparkline named as on its own page
            page.goto(base + "/events")
            rows = page.locator("li.event")
            hot = [
                n for n in range(rows.count())
                if float(rows.nth(n).locator(".heat").inner_text().split()[1]) > 0
            ]  # fmt: skip
            assert len(hot) >= 3, hot
            assert page.locator("li.event .marker-new, li.event .marker-rising").count() >= 1
            labels = {
                rows.nth(n).get_attribute("data-event"): rows.nth(n)
                .locator("svg.spark").get_attribute("aria-label")
                for n in hot
            }  # fmt: skip
            for event_id, label in labels.items():
                page.goto(f"{base}/events/{event_id}")
                assert page.locator("svg.spark").first.get_attribute("aria-label") == label
            ARTIFACTS.mkdir(exist_ok=True)
            for width in (1280, 375):
                page.set_viewport_size({"width": width, "height": 900})
                for scheme in ("light", "dark"):
                    page.emulate_media(color_scheme=scheme)
                    for name, path in pages.items():
                        page.goto(base + path)
                        assert "Demo snapshot as of" in page.inner_text("body"), name
                        pics = page.locator("svg.pic")
                        assert pics.count() > 0, name
                        label = pics.first.get_attribute("aria-label") or ""
                        assert re.search(r"\d", label), (name, label)
                        wide = page.evaluate("document.documentElement.scrollWidth")
                        assert wide <= width, (name, width, wide)
                        if name == "policy":
                            page.locator("svg.pic.tiers").first.scroll_into_view_if_needed()
                        page.screenshot(
                            path=str(ARTIFACTS / f"pictures-{name}-{width}-{scheme}.png")
                        )
            browser.close()
    finally:
        server.should_exit = True
    assert [e for e in errors if "404" not in e] == []  # the browser asks for /favicon.ico
