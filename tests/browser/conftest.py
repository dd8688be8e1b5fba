"""A real desk in a real browser: the demo pipeline plus a hostile feed, served by uvicorn on a
free port, driven by Playwright on Debian's Chromium. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from conftest import LocalServer, Route
from newsdesk.config import load_settings
from newsdesk.domain import Source, SourceTier
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import schema as t
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"
O3_TITLE = "OpenAI o3-mini System Card"
O3_TAKE = (
    "OpenAI set o3-mini’s deployment gate at post-mitigation Medium. That matters more than "
    "the “first Medium autonomy” label."
)
O3_SHARP = (
    "OpenAI’s most important disclosure here is not that o3-mini scored Medium in three "
    "categories. It’s that the company put two explicit gates into one public document.\n"
    "I only half-buy the “first model to reach Medium on model autonomy” framing."
)
HOSTILE_WORD = "Zanzibarquartz"  # a word only the hostile story carries

pytestmark = pytest.mark.browser


def _hostile_feed() -> bytes:
    now = datetime.now(UTC)
    when = (now - timedelta(hours=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = (
        f"<p onclick=\"alert('p')\">OpenAI released GPT-9 {HOSTILE_WORD} with a 97.5% score on "
        "SWE-bench and 2 million tokens of context, the company said.</p>"
        "<script>alert('script')</script><img src=x onerror=\"alert('img')\">"
        '<img src="http://evil.example/pixel.png">'
        "<a href=\"javascript:alert('js')\">click</a>"
        "<svg><script>alert('svg')</script><circle onload=\"alert('svg2')\"/></svg>"
        "<div style=\"width:expression(alert('css'));background:url(http://evil.example/x)\">x</div>"
        '<iframe src="http://evil.example/frame"></iframe>'
        '<link rel=stylesheet href="http://evil.example/x.css">'
    )
    from xml.sax.saxutils import escape

    title = "OpenAI GPT-9 <script>alert('title')</script><img src=x onerror=alert('t2')> launch"
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
        "<link>http://evil.example/</link><description>x</description>"
        f"<item><title>{escape(title)}</title>"
        "<link>http://evil.example/gpt-9</link><guid>hostile-1</guid>"
        f"<pubDate>{when}</pubDate><description>{escape(body)}</description></item>"
        f"<item><title>{HOSTILE_WORD} javascript link story from OpenAI GPT-9</title>"
        "<link>javascript:alert('link')</link><guid>hostile-2</guid>"
        f"<pubDate>{when}</pubDate><description>{escape(body)}</description></item>"
        "</channel></rss>"
    ).encode()


def _run(coro: Any) -> Any:
    """asyncio.run on its own thread: Playwright's sync API keeps a loop on the main one."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(asyncio.run(coro)))
    worker.start()
    worker.join()
    return out[0] if out else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed_commentary(db: Database) -> int:
    """What the model editor writes for a p1 story: bilingual title and summary, take, sharp.

    The demo's o3-mini card leads an event that several sources carry, so the editor writes
    its verdict and commentary once for the event; the seed does the same."""
    now = datetime.now(UTC)

    def write(conn: Any) -> int:
        i, e = t.items.c, t.events.c
        row = conn.execute(select(i.id, i.judgement_id).where(i.title == O3_TITLE)).one()
        led = (e.lead_item_id == row.id) & e.judgement_id.is_not(None)
        event = conn.execute(select(e.id, e.judgement_id).where(led)).first()
        zh = {"title_zh": "OpenAI o3-mini 系统卡",
              "summary_zh": "OpenAI 将 o3-mini 的缓解后总体风险评为中等。"}  # fmt: skip
        conn.execute(update(t.judgements).where(t.judgements.c.id == row.judgement_id).values(zh))
        if event is not None:
            ej = t.event_judgements.c
            conn.execute(update(t.event_judgements).where(ej.id == event.judgement_id).values(zh))
        owner = {"event_id": event.id} if event is not None else {"item_id": row.id}
        conn.execute(
            insert(t.commentary).values(
                **owner, created_at=now, policy_version="test", editor="test-model",
                take_en=O3_TAKE, take_zh="OpenAI 把 o3-mini 的部署门槛设在缓解后中等。",
                sharp_en=O3_SHARP, sharp_zh="这里最重要的披露不是三个类别的中等评级。",
            )
        )  # fmt: skip
        return int(row.id)

    return db.write_sync(write)


def _seed_admin_desk(db: Database, o3_id: int) -> int:
    """A faithfulness-guard flag on the o3-mini card; returns the largest event's id."""

    def write(conn: Any) -> int:
        conn.execute(
            insert(t.guard_flags).values(
                item_id=o3_id, step="comment", field="sharp_en", action="repaired",
                spans=["GPT-5.3"], text="", created_at=datetime.now(UTC),
            )
        )  # fmt: skip
        m = t.event_members.c
        return int(
            conn.execute(
                select(m.event_id).group_by(m.event_id).order_by(func.count().desc()).limit(1)
            ).scalar_one()
        )

    return db.write_sync(write)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    import uvicorn

    from newsdesk.web.app import create_app

    path = tmp_path_factory.mktemp("desk") / "desk.db"
    settings = load_settings(
        database_url=f"sqlite:///{path}", allow_private_urls=True, admin_password=PASSWORD
    )
    db = Database(settings.effective_database_url)
    upgrade(db)
    policy = load_policy()
    feeds = LocalServer()
    hostile = Source(
        id="hostile", name="Hostile Wire", url=feeds.add("/h.xml", Route(_hostile_feed())),
        tier=SourceTier.T1, group="vendor-official",
    )  # fmt: skip
    with DemoFeedServer() as base:
        demo = load_catalog(DEMO_CATALOG, demo_base=base)
        _run(run_once(db, settings, policy, catalog=[*demo, hostile], demo=True))
    feeds.close()
    o3_id = _seed_commentary(db)
    event_id = _seed_admin_desk(db, o3_id)

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    ARTIFACTS.mkdir(exist_ok=True)
    yield {"base": f"http://127.0.0.1:{port}", "db": db, "o3_id": o3_id, "event_id": event_id}
    server.should_exit = True
    thread.join(timeout=10)
    db.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API holds an event loop on the main thread while it
    # runs, which async tests collected after this module must not meet.
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(desk: dict[str, Any], browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=desk["base"])
    pg = context.new_page()
    yield pg
    context.close()


def sign_in(page: Any) -> None:
    page.goto("/signin")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/")
