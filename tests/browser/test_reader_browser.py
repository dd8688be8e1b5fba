"""The reader in Chromium: the full card, expand/collapse, the language switch, filters, search,
keyboard shortcuts, editor actions, admin refusals, hostile markup, screenshots."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from .conftest import ARTIFACTS, HOSTILE_WORD, O3_SHARP, O3_TAKE, O3_TITLE, sign_in

# One xdist worker runs the module: its desk and Chromium are built once, not once per worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def until(check: Any, timeout: float = 10.0) -> None:
    """Poll from Python: the desk's CSP forbids the eval that page.wait_for_function uses."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def o3_card(page: Any) -> Any:
    page.goto("/?q=o3-mini+System+Card")
    card = page.locator("article.card", has_text=O3_TITLE)
    card.wait_for()
    return card


def test_o3_mini_card_shows_every_part(page, desk) -> None:
    card = o3_card(page)
    meta = card.locator(".meta").inner_text()
    assert re.search(r"● P1 · OpenAI Blog · rss · EN · 11:00 · 01·31", meta), meta
    assert card.locator(".when .hm").inner_text() == "11:00"
    assert re.fullmatch(r"\d+d ago", card.locator(".when .age").inner_text())
    link = card.locator(".title a")
    assert link.get_attribute("href") == "https://openai.com/index/o3-mini-system-card"
    assert link.inner_text().strip() == "→" + O3_TITLE or O3_TITLE in link.inner_text()
    assert "post-mitigation overall risk as Medium" in card.locator(".summary:visible").inner_text()
    tags = card.locator(".tag").all_inner_texts()
    for tag in ("#Reasoning", "#Alignment", "#Safety", "#OpenAI"):
        assert tag in tags
    score = card.locator(".score .num").inner_text()
    assert re.search(r"\d+", score) and card.locator(".arc.on").count() == 3
    # Collapsed: the notes are there but hidden.
    assert not card.locator(".note.take").is_visible()
    card.locator("details.more > summary").click()
    text = card.inner_text()
    parts = ("WHY FEATURED", "EDITOR TAKE", O3_TAKE, "SHARP", "hook ✓", "knowledge ✓",
             "resonance ✓", "judged by rules editor", "open source ↗", "copy link")  # fmt: skip
    for part in parts:
        assert part in text, part
    assert card.locator(".sharp-body:visible p").count() == len(O3_SHARP.splitlines())
    # The coverage chip opens the list of the event's other stories (htmx loads it).
    chip = card.locator("summary.also")
    assert re.fullmatch(r"also reported by \d+ sources?", chip.inner_text().strip())
    chip.click()
    members = card.locator(".member-list li")
    members.first.wait_for()
    assert members.count() >= 2 and "(this story)" in card.locator(".member-list").inner_text()


def test_expand_and_collapse_without_layout_shift(page, desk) -> None:
    page.goto("/")
    card = page.locator("article.card").nth(1)
    title_before = card.locator(".title").bounding_box()
    score_before = card.locator(".score").bounding_box()
    first_card_box = page.locator("article.card").first.bounding_box()
    card.locator("details.more > summary").click()
    assert card.locator(".notes").is_visible()
    assert card.locator(".title").bounding_box() == title_before
    assert card.locator(".score").bounding_box() == score_before
    assert page.locator("article.card").first.bounding_box() == first_card_box
    card.locator("details.more > summary").click()
    assert not card.locator(".notes").is_visible()


def test_language_switch_is_remembered_and_keeps_the_source_language(page, desk) -> None:
    card = o3_card(page)
    assert card.locator(".title .bi[lang=en]").is_visible()
    assert not card.locator(".title .bi[lang=zh]").is_visible()
    page.click("button[data-lang=zh]")
    assert card.locator(".title .bi[lang=zh]").inner_text() == "OpenAI o3-mini 系统卡"
    assert not card.locator(".title .bi[lang=en]").is_visible()
    assert card.locator(".lang-badge").inner_text() == "EN"  # the original's language stays
    page.reload()
    card = page.locator("article.card", has_text="系统卡")
    assert card.locator(".title .bi[lang=zh]").is_visible()
    assert page.locator("button[data-lang=zh]").get_attribute("aria-pressed") == "true"
    page.click("button[data-lang=en]")
    assert card.locator(".title .bi[lang=en]").is_visible()


def test_filters_change_the_list(page, desk) -> None:
    page.goto("/")
    before = page.locator("article.card .meta .src").all_inner_texts()
    assert len(set(before)) > 1
    page.select_option("#f-source", "openai-blog")
    page.wait_for_url(re.compile(r"source=openai-blog"))
    until(
        lambda: all("OpenAI Blog" in x for x in page.locator("article.card .src").all_inner_texts())
    )
    after = page.locator("article.card")
    assert 0 < after.count() < len(before) or after.count() > 0
    assert "Filtered by" in page.locator(".filter").inner_text()
    page.select_option("#f-tier", "featured")
    page.wait_for_url(re.compile(r"tier=featured"))
    until(
        lambda: all(
            "tier-featured" in (cls or "")
            for cls in page.locator("article.card").evaluate_all("els => els.map(e => e.className)")
        )
    )
    page.goto("/all?language=zh")
    langs = set(page.locator("article.card .lang-badge").all_inner_texts())
    assert langs == {"ZH"}


def test_search_finds_a_story_by_a_word_of_its_summary(page, desk) -> None:
    page.goto("/all")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("Preparedness")  # in the o3-mini summary, not in its title
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=Preparedness"))
    page.locator("article.card", has_text=O3_TITLE).wait_for()
    assert all("Preparedness" in s for s in page.locator(".summary:visible").all_inner_texts())


def test_keyboard_shortcuts(page, desk) -> None:
    page.goto("/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    current = page.locator("article.card.is-current")
    assert current.count() == 1
    assert current.get_attribute("id") == page.locator("article.card").nth(1).get_attribute("id")
    page.keyboard.press("k")
    first = page.locator("article.card").first
    assert "is-current" in (first.get_attribute("class") or "")
    page.keyboard.press("x")
    assert first.locator(".notes").is_visible()
    page.keyboard.press("x")
    assert not first.locator(".notes").is_visible()
    page.keyboard.press("?")
    assert page.locator("dialog#keys").is_visible()
    assert "open the original" in page.locator("dialog#keys").inner_text()
    page.keyboard.press("Escape")
    assert not page.locator("dialog#keys").is_visible()


def test_infinite_scroll_appends_older_stories(page, desk) -> None:
    page.goto("/all")
    n = page.locator("article.card").count()
    assert n == 30  # one page
    page.locator(".pager a").scroll_into_view_if_needed()
    until(lambda: page.locator("article.card").count() > n)
    ids = page.locator("article.card").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))  # no story twice


def test_anonymous_and_forged_requests_to_admin_are_refused(page, desk) -> None:
    page.goto("/admin/sources")
    assert "/signin" in page.url and page.locator("#password").is_visible()
    anon = page.request.post("/admin/sources/openai-blog", form={"enabled": "false"})
    assert anon.status == 401
    sign_in(page)
    page.goto("/admin/sources")
    assert page.locator("table.grid").is_visible()
    forged = page.request.post(
        "/admin/sources/openai-blog", form={"enabled": "false", "csrf": "forged"}
    )
    assert forged.status == 403
    none = page.request.post("/admin/sources/openai-blog", form={"enabled": "false"})
    assert none.status == 403
    page.reload()
    row = page.locator("tr", has_text="openai-blog")
    assert row.locator("button", has_text="disable").count() == 1  # still enabled


def test_editor_saves_votes_and_exports(page, desk) -> None:
    sign_in(page)
    card = o3_card(page)
    card.locator("details.more > summary").click()
    card.locator(".coll-in").fill("Safety reads")
    card.locator("button[data-action=save]").click()
    card.locator("button[data-action=save][aria-pressed=true]").wait_for()
    card.locator(".note-in").fill("gate split is the story")
    card.locator("button[value=down]").click()
    card.locator(".thanks").wait_for()
    page.goto("/saved?collection=Safety+reads")
    assert page.locator("article.card", has_text=O3_TITLE).count() == 1
    md = page.request.get("/saved/export.md?collection=Safety+reads").text()
    assert md.startswith("# Safety reads") and f"[{O3_TITLE}](https://openai.com/" in md
    page.goto("/admin/feedback")
    inbox = page.locator("table.grid").inner_text()
    assert "gate split is the story" in inbox and "wrong" in inbox


def test_flagged_stories_and_event_split_and_merge_forms(page, desk) -> None:
    sign_in(page)
    page.goto("/admin/flagged")
    flagged = page.locator("main").inner_text()
    assert O3_TITLE in flagged and "sharp_en" in flagged and "GPT-5.3" in flagged
    event = desk["event_id"]
    page.goto(f"/admin/events?event={event}")
    rows = page.locator("#event + .table-wrap tbody tr")
    n = rows.count()
    assert n >= 2
    rows.last.locator("button", has_text="split out").click()
    page.wait_for_url("**/admin/events?event=*")
    split = int(page.url.rsplit("=", 1)[1])
    assert split != event and page.locator("#event + .table-wrap tbody tr").count() == 1
    page.fill("input[name=keep]", str(event))
    page.fill("input[name=other]", str(split))
    page.locator("button", has_text="merge").click()
    page.wait_for_url(f"**/admin/events?event={event}")
    assert page.locator("#event + .table-wrap tbody tr").count() == n
    assert page.locator("#event + .table-wrap tbody tr", has_text="editor").count() == n


def _reader_account(db: Any, name: str, password: str) -> None:
    from datetime import UTC, datetime

    from newsdesk.store import passwords, users

    digest, now = passwords.hash_password(password), datetime.now(UTC)
    db.write_sync(lambda c: users.find(c, name) or users.add(c, name, "reader", digest, now))


def _development(db: Any, event_id: int, title: str) -> int:
    """A story with new facts joins the event, as the grouping step records one."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select, update

    from newsdesk.store import schema as t

    now = datetime.now(UTC)

    def write(conn: Any) -> int:
        lead = conn.execute(select(t.events.c.lead_item_id).where(t.events.c.id == event_id))
        src = conn.execute(select(t.items.c.source_id).where(t.items.c.id == lead.scalar_one()))
        item = conn.execute(insert(t.items).values(
            identity_key=title, source_id=src.scalar_one(), url="https://example.com/dev",
            title=title, language="en", published_at=now, filed_at=now, first_seen_at=now,
            updated_at=now, content_hash=title).returning(t.items.c.id)).scalar_one()  # fmt: skip
        judged = conn.execute(insert(t.judgements).values(
            item_id=item, created_at=now, policy_version="p", editor="rules", importance=60,
            tier="all", hook=True, knowledge=True, resonance=False, title_en=title,
            summary_en=title + ".", tags={"capabilities": [], "entities": [], "topics": []},
        ).returning(t.judgements.c.id)).scalar_one()  # fmt: skip
        conn.execute(update(t.items).where(t.items.c.id == item)
                     .values(judgement_id=judged, tier="all", importance=60))  # fmt: skip
        member = {"item_id": item, "event_id": event_id, "relation": "same_story"}
        conn.execute(insert(t.event_members).values(**member, added_at=now))
        return int(item)

    return int(db.write_sync(write))


def test_a_reader_follows_a_story_and_a_tag_and_sees_what_is_new(page, desk) -> None:
    _reader_account(desk["db"], "rita", "rita reads daily")
    page.goto("/signin")
    page.fill("#name", "rita")
    page.fill("#password", "rita reads daily")
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/")
    card = o3_card(page)
    assert card.locator("button[value=up]").count() == 0  # a reader does not vote
    card.locator("details.more > summary").click()
    story = card.locator("form.follow[data-kind=event]")  # the card also offers its tags
    story.locator("button[data-action=follow]").click()
    card.locator("form.follow[data-kind=event] button[aria-pressed=true]").wait_for()
    event_id = int(story.locator("input[name=target]").get_attribute("value") or 0)

    page.goto("/tags/Reasoning")
    page.locator(".follow-bar button[data-action=follow]").first.click()
    page.locator(".follow-bar button[data-action=follow][aria-pressed=true]").first.wait_for()

    page.goto("/following")
    groups = page.locator("section.follow-group")
    assert groups.count() == 2 and page.locator(".new-mark").count() == 0
    assert page.locator("section.follow-group h2", has_text="#Reasoning").count() == 1

    title = "o3-mini gets a new deployment gate a week later"
    _development(desk["db"], event_id, title)
    card = o3_card(page)
    assert card.locator(".fresh", has_text="new since you looked").count() == 1
    page.goto("/following")
    first = page.locator("section.follow-group").first
    assert "new since you looked" in first.inner_text() and title in first.inner_text()
    assert first.locator(".follow-item.is-new", has_text=title).count() == 1
    page.screenshot(path=str(ARTIFACTS / "following-1280.png"), full_page=True)
    page.reload()  # looked: nothing is new now
    assert page.locator(".new-mark").count() == 0
    assert "new since you looked" not in page.locator("main").inner_text()
    response = page.goto("/admin/sources")
    assert response is not None and response.status == 403  # readers do not open the admin desk


def test_hostile_markup_renders_inert(page, desk) -> None:
    dialogs: list[str] = []
    foreign: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on(
        "request",
        lambda r: foreign.append(r.url) if not r.url.startswith(desk["base"]) else None,
    )
    response = page.goto(f"/all?q={HOSTILE_WORD}")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "object-src 'none'" in csp
    cards = page.locator("article.card")
    assert cards.count() == 2
    for i in range(cards.count()):
        cards.nth(i).locator("details.more > summary").click()
    page.locator("a", has_text="item page").first.click()
    page.wait_for_load_state("networkidle")
    page.goto(f"/all?q={HOSTILE_WORD}")
    page.mouse.move(300, 300)
    page.wait_for_timeout(300)
    html = page.content()
    assert dialogs == [] and foreign == []
    assert "<script>alert" not in html and "onerror=" not in html.replace("&", "")
    assert 'href="javascript:' not in html.lower()
    assert page.locator(".card script, .card svg script, .card iframe, .card img").count() == 0
    # The javascript: story has no outbound link at all.
    js_card = page.locator("article.card", has_text="javascript link story")
    assert js_card.locator(".title a").count() == 0


PAGES = [
    ("hot", "/"), ("all", "/all"), ("item-o3", "/items/{o3}"), ("tag", "/tags/Safety"),
    ("search", "/?q=reasoning"), ("sources", "/sources"), ("signin", "/signin"),
    ("events", "/events"), ("event", "/events/{event}"), ("daily", "/daily"),
    ("weekly", "/weekly"), ("not-found", "/items/999999"),
]  # fmt: skip
EDITOR_PAGES = [
    ("saved", "/saved"), ("admin-sources", "/admin/sources"), ("admin-runs", "/admin/runs"),
    ("admin-usage", "/admin/usage"), ("admin-budgets", "/admin/budgets"),
    ("admin-policy", "/admin/policy"), ("admin-feedback", "/admin/feedback"),
    ("admin-flagged", "/admin/flagged"), ("admin-events", "/admin/events?event={event}"),
]  # fmt: skip


@pytest.mark.parametrize("width", [1280, 375])
def test_screenshots_of_every_page(desk, browser, width) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=desk["base"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A blocked inline script or style (Content-Security-Policy) shows as a console error.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for name, path in PAGES:
        page.goto(path.format(o3=desk["o3_id"], event=desk["event_id"]))
        if name == "hot":
            page.locator("article.card").first.locator("details.more > summary").click()
        # At 375 px nothing may scroll sideways (tables scroll inside their own box).
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=False)
    page.emulate_media(color_scheme="dark")
    page.goto("/")
    page.screenshot(path=str(ARTIFACTS / f"hot-dark-{width}.png"))
    page.emulate_media(color_scheme="light")
    sign_in(page)
    for name, path in EDITOR_PAGES:
        page.goto(path.format(event=desk["event_id"]))
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=False)
    assert [e for e in errors if "404" not in e] == []  # the not-found page is a 404 on purpose
    context.close()
