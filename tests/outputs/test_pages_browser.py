"""The daily brief pages in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from newsdesk.runner.reports import build_report
from newsdesk.web.app import create_app

from .conftest import demo_settings, without_reports
from .test_mcp import serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def test_daily_archive_brief_and_markdown(desk) -> None:
    from playwright.sync_api import sync_playwright

    without_reports(desk)
    settings = demo_settings()
    server, base = serve(create_app(settings, desk))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page()
            page.goto(base + "/daily")
            assert "No daily report has been composed yet" in page.inner_text("main")
            # Playwright's sync API owns this thread's event loop: compose in another thread.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(
                    asyncio.run, build_report(desk, settings, "daily", date(2025, 1, 31))
                ).result()
            page.goto(base + "/")
            page.click("nav >> text=Daily")
            page.click("text=Daily brief: Friday, 31 January 2025")
            assert page.url == base + "/daily/2025-01-31"
            assert page.locator("h1").inner_text() == "Daily brief: Friday, 31 January 2025"
            first = page.locator("li.brief-entry").first
            assert "OpenAI o3-mini System Card" in first.inner_text()
            assert "P1" in first.locator(".meta").inner_text()
            page.click("text=Markdown")
            assert page.inner_text("body").startswith("# Daily brief: Friday, 31 January 2025")
            browser.close()
    finally:
        server.should_exit = True
