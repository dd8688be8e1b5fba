"""Each picture's numbers are the data it draws: read back from the SVG's accessible name and
compared with figures the test counts from the database itself; empty states are drawn."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from newsdesk.config import DEMO_AS_OF
from newsdesk.store import schema as t

SPARK = re.compile(r'<svg class="pic spark"[^>]*aria-label="([^"]*)"[^>]*><title>([^<]*)</title>')
LABEL = re.compile(
    r"Coverage: independent sources per (\d+) hours from (\d{4}-\d\d-\d\d \d\d:\d\d) UTC: "
    r"([\d, ]+)\.(?: A development joined in the \d+ hours from (.*)\.)?$"
)


def spark_labels(page: str) -> list[str]:
    found = []
    for label, title in SPARK.findall(page):
        assert html.unescape(label) == html.unescape(title)  # the same words for all readers
        found.append(html.unescape(label))
    return found


def coverage_by_hand(
    desk, event_id: int, now: datetime
) -> tuple[datetime, list[int], set[datetime]]:
    """Independent sources per six hours and the six hours where a development joined,
    counted here from the event's members and discoveries."""
    m, i, d = t.event_members.c, t.items.c, t.discoveries.c
    with desk.read() as conn:
        rows = (
            conn.execute(
                select(i.source_id, i.filed_at, m.relation)
                .join(t.items, i.id == m.item_id)
                .where(m.event_id == event_id)
            ).all()
            + conn.execute(
                select(d.source_id, d.seen_at, m.relation)
                .join(t.event_members, m.item_id == d.item_id)
                .where(m.event_id == event_id)
            ).all()
        )
    rows = [(s, at.replace(tzinfo=at.tzinfo or UTC), rel) for s, at, rel in rows if at <= now]
    first = min(at for _, at, _ in rows)
    start = first.replace(minute=0, second=0, microsecond=0, hour=first.hour // 6 * 6)
    slots: dict[int, set[str]] = defaultdict(set)
    developments = set()
    for source, at, relation in rows:
        slot = int((at - start) / timedelta(hours=6))
        slots[slot].add(source)
        if relation == "same_story":  # grouping's word for a development
            developments.add(start + timedelta(hours=6 * slot))
    return start, [len(slots[k]) for k in range(max(slots) + 1)], developments


def test_event_sparklines_draw_the_events_coverage(client_for, desk) -> None:
    demo = client_for(demo=True)
    page = demo.get("/events").text
    ids = [int(x) for x in re.findall(r'<li class="event" data-event="(\d+)">', page)]
    labels = spark_labels(page)
    assert len(labels) == len(ids) > 10  # every event on the list has its sparkline
    checked_developments = 0
    for event_id, label in zip(ids, labels, strict=True):
        match = LABEL.match(label)
        assert match, label
        hours, start, figures, developed = match.groups()
        if hours != "6":
            continue  # a life longer than fourteen days: wider bars (unit-tested)
        first, counts, developments = coverage_by_hand(desk, event_id, DEMO_AS_OF)
        assert start == f"{first:%Y-%m-%d %H:%M}"
        assert [int(x) for x in figures.split(", ")] == counts, event_id
        at = {datetime.fromisoformat(x.removesuffix(" UTC")).replace(tzinfo=UTC)
              for x in (developed or "").split(", ") if x}  # fmt: skip
        assert at == developments, event_id
        checked_developments += bool(at)
        # the event's own page draws the same sparkline
        assert spark_labels(demo.get(f"/events/{event_id}").text) == [label]
    assert checked_developments >= 1  # gpt-oss: a podcast episode a week later


PASSWORD = "pictures-test-password"


def sign_in(client) -> None:
    page = client.get("/signin").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert "sign out" in client.post("/signin", data={"password": PASSWORD, "csrf": csrf}).text


def labels_of(page: str, kind: str) -> list[str]:
    pattern = rf'<svg class="pic {kind}"[^>]*aria-label="([^"]*)"[^>]*><title>([^<]*)</title>'
    found = []
    for label, title in re.findall(pattern, page):
        assert label == title
        found.append(html.unescape(label))
    return found


def test_sources_draw_stories_per_day_and_fetch_outcomes(client_for, desk) -> None:
    # a failing source: three fetches, the newest two errors, so the strip shows them
    f = t.fetch_runs.c
    with desk.read() as conn:
        first = conn.execute(select(t.sources.c.id).order_by(t.sources.c.id)).scalars().first()
    when = datetime.now(UTC)
    desk.write_sync(lambda c: c.execute(t.fetch_runs.insert(), [
        {"source_id": first, "started_at": when + timedelta(minutes=k), "finished_at": when
         + timedelta(minutes=k), "http_status": status, "error_code": code, "bytes": 0}
        for k, (status, code) in enumerate([(304, None), (503, "http_5xx"), (None, "timeout")])
    ]))  # fmt: skip
    demo = client_for(demo=True, admin_password=PASSWORD)
    sign_in(demo)
    with desk.read() as conn:
        ids = list(conn.execute(select(t.sources.c.id).order_by(t.sources.c.id)).scalars())
        items = conn.execute(select(t.items.c.source_id, t.items.c.filed_at)).all()
        runs = conn.execute(
            select(f.source_id, f.http_status, f.error_code).order_by(f.started_at, f.id)
        ).all()
    last = DEMO_AS_OF.date()
    for path in ("/sources", "/admin/sources"):
        page = demo.get(path).text
        days, fetches = labels_of(page, "days"), labels_of(page, "fetches")
        assert len(days) == len(fetches) == len(ids), path
        expected_days, expected_fetches = set(), set()
        for source in ids:
            counts = [0] * 30
            for s, filed in items:
                filed = filed if filed.tzinfo else filed.replace(tzinfo=UTC)
                back = (last - filed.date()).days  # the desk's time zone is UTC here
                if s == source and filed <= DEMO_AS_OF and 0 <= back < 30:
                    counts[29 - back] += 1
            expected_days.add(
                "Stories per day, the 30 days to 2025-11-24: " + ", ".join(map(str, counts)) + "."
                if any(counts) else "No stories in the 30 days to 2025-11-24."
            )  # fmt: skip
            outcomes = [code or ("304" if status == 304 else "ok")
                        for s, status, code in runs if s == source][-30:]  # fmt: skip
            expected_fetches.add(", ".join(outcomes))
        assert set(days) == expected_days, path
        assert {x.rsplit(": ", 1)[1].rstrip(".") for x in fetches} == expected_fetches, path
        assert any(x.endswith(": ok, 304, http_5xx, timeout.") for x in fetches)
        # a quiet source is drawn, not left blank
        assert "No stories in the 30 days to 2025-11-24." in days
        assert "<text " in page and ">no stories in 30 days</text>" in page


def test_usage_draws_cost_and_tokens_per_day_with_the_budget(client_for, desk) -> None:
    from rich.console import Console

    from newsdesk.cli.editor import usage_chart
    from newsdesk.publish.pictures import usage_per_day

    demo = client_for(demo=True, admin_password=PASSWORD)
    sign_in(demo)
    empty = demo.get("/admin/usage").text
    assert "No cost in the 30 days to" in empty and ">no cost in 30 days</text>" in empty
    now = datetime.now(UTC)  # money is spent on the real clock, also in the demo
    calls = [("judge", "fake-editor", 3, 900, 100, 0.002), ("judge", "fake-editor", 3, 500, 50,
             0.001), ("comment", "fake-writer", 1, 2000, 400, 0.01), ("judge", "fake-editor", 0,
             100, 10, 0.0005), ("judge", "fake-editor", 40, 100, 10, 9.0)]  # fmt: skip
    desk.write_sync(lambda c: c.execute(t.usage.insert(), [
        {"service": "fake", "purpose": p, "model": m, "tokens_in": i, "tokens_out": o,
         "cost": cost, "created_at": now - timedelta(days=back)}
        for p, m, back, i, o, cost in calls
    ]))  # fmt: skip
    desk.write_sync(lambda c: c.execute(t.budgets.insert().values(
        service="fake", window="day", max_cost=0.0025, max_tokens=None)))  # fmt: skip
    page = demo.get("/admin/usage").text
    days = labels_of(page, "days")
    cost = [0.0] * 30
    tokens = [0] * 30
    for _, _, back, i, o, spent in calls:
        if back < 30:
            cost[29 - back] += spent
            tokens[29 - back] += i + o
    figures = ", ".join(f"{v:.6f}".rstrip("0").rstrip(".") or "0" for v in cost)
    assert (
        f"Cost (USD) per day, the 30 days to {now:%Y-%m-%d}: {figures}. Daily budget: 0.0025."
        in days
    )
    assert f"Tokens per day, the 30 days to {now:%Y-%m-%d}: {', '.join(map(str, tokens))}." in days
    assert 'class="limit"' in page  # the budget's line is drawn
    # one row per step and model, each with its own two pictures
    assert sum(x.startswith("Cost (USD) per day") for x in days) == 3
    # `newsdesk usage` prints the same figures as a terminal chart
    with desk.read() as conn:
        per_day = usage_per_day(conn, now, "UTC")
    console = Console(record=True, width=140)
    console.print(usage_chart(per_day))
    text = console.export_text()
    assert "fake-editor" in text and "fake-writer" in text and "0.0135" in text
    assert "daily budget: 0.0025 USD" in text


def tiers_by_hand(items, last, days: int = 30) -> str:
    rows = []
    for back in range(days - 1, -1, -1):
        day = last - timedelta(days=back)
        found = [tier for tier, filed in items if filed.date() == day]
        if found:
            parts = ", ".join(
                f"{x} {found.count(x)}" for x in ("p1", "featured", "all", "excluded")
            )
            rows.append(f"{day.isoformat()}: {parts}")
    return "; ".join(rows)


def test_runs_and_policy_preview_draw_tier_shares_per_day(client_for, desk) -> None:
    from newsdesk.runner.policy import preview_version

    from .conftest import demo_settings

    demo = client_for(demo=True, admin_password=PASSWORD)
    sign_in(demo)
    with desk.read() as conn:
        items = [(tier, filed if filed.tzinfo else filed.replace(tzinfo=UTC))
                 for tier, filed in conn.execute(select(t.items.c.tier, t.items.c.filed_at))
                 if tier is not None]  # fmt: skip
    last = DEMO_AS_OF.date()
    [runs] = labels_of(demo.get("/admin/runs").text, "tiers")
    assert runs == (
        f"Tier shares per day, the 30 days to {last}, stories by tier: "
        f"{tiers_by_hand([(x, f) for x, f in items if f <= DEMO_AS_OF], last)}."
    )
    # a preview of the active version: current and draft side by side, the same shares
    policy = demo.get("/admin/policy").text
    version = re.search(r'action="/admin/policy/([0-9a-f]+)/preview"', policy).group(1)  # type: ignore[union-attr]
    preview_version(desk, demo_settings(), version, days=3650)
    current, draft = labels_of(demo.get(f"/admin/policy?version={version}").text, "tiers")
    newest = max(f for _, f in items).date()
    expected = tiers_by_hand(items, newest)
    head = f"Current policy, tier shares per day, the 30 days to {newest}, stories by tier: "
    assert current == f"{head}{expected}."
    assert draft == current.replace("Current policy", "This version")
