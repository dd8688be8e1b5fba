"""An episode on the demo desk in a real browser (Playwright driving Debian's Chromium): the card
says it is audio and how long, the item page plays it with the browser's own player (nothing
loads before play, no autoplay), and its chapters and transcript are there to open, search and
jump through."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import pytest
from sqlalchemy import select, update

from conftest import LocalServer, Route
from newsdesk.store import schema as t
from newsdesk.web.app import create_app

from .conftest import demo_settings
from .test_mcp import serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip  (autoplay would be allowed)
EPISODE = "Ep. 62: Running gpt-oss-20b on a laptop"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


def silence(seconds: int) -> bytes:
    """A WAV the player can seek in: 8 kHz, 8-bit mono silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 8000 * seconds)
    return out.getvalue()


def test_episode_player_chapters_and_transcript(desk) -> None:
    from playwright.sync_api import sync_playwright

    files = LocalServer()
    audio = files.add("/ep62.wav", Route(silence(240), headers={"Content-Type": "audio/wav"}))
    with desk.read() as conn:
        item_id, media = conn.execute(
            select(t.items.c.id, t.items.c.media).where(t.items.c.title == EPISODE)
        ).one()
    # the demo's file lives on an invented host: play a local one instead
    desk.write_sync(lambda c: c.execute(update(t.items).where(t.items.c.id == item_id).values(
        media={**media, "url": audio, "type": "audio/wav"})))  # fmt: skip
    server, base = serve(create_app(demo_settings(), desk))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page()
            response = page.goto(f"{base}/items/{item_id}")
            assert page.locator(f"#item-{item_id} .meta .media-badge").inner_text() == "🎧 48 min"
            csp = response.headers["content-security-policy"]
            assert f"media-src 'self' {files.base}" in csp and "script-src 'self' " in csp
            player = page.locator("#media audio.player")
            assert player.get_attribute("preload") == "none"
            assert player.get_attribute("autoplay") is None
            page.wait_for_timeout(500)
            # nothing played and nothing was downloaded before the reader asked
            assert player.evaluate("a => a.paused") is True
            assert files.routes["/ep62.wav"].hits == 0
            assert page.locator("script[src*='youtube'], iframe").count() == 0

            chapters = page.locator("#media .chapters li")
            assert chapters.count() == 5
            assert "What Apache 2.0 changes" in chapters.nth(4).inner_text()
            transcript = page.locator("#transcript")
            assert transcript.evaluate("d => d.open") is False  # collapsed until asked for
            # a chapter's time opens the transcript at that passage and seeks the player
            page.click("#media .chapters a[data-seek='220']")
            assert transcript.evaluate("d => d.open") is True
            here = page.locator("#transcript .seg.here")
            assert "mixture-of-experts" in here.inner_text()
            assert here.locator(".at").inner_text() == "3:40"
            page.wait_for_function("document.querySelector('#media audio').currentTime >= 219")
            assert player.evaluate("a => a.paused") is True  # seeking is not playing

            # the find box keeps the passages that hold the words and says how many
            page.fill("#tr-q", "harmony")
            assert page.locator("#transcript .tr-count").inner_text() == "2 passages"
            shown = page.locator("#transcript .seg:not([hidden])")
            assert shown.count() == 2
            assert all("harmony" in x.lower() for x in shown.all_inner_texts())
            page.fill("#tr-q", "")
            assert page.locator("#transcript .seg:not([hidden])").count() > 2
            Path("test-artifacts").mkdir(exist_ok=True)
            page.screenshot(path="test-artifacts/episode.png", full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        files.close()
