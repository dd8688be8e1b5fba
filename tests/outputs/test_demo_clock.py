"""The demo reads its 2025 snapshot on the snapshot's clock: an hour after its newest story.

Hot events lead with non-zero heat and a "new" marker, ages count from the snapshot's last day,
the last day's brief exists, every page says so in a banner, and cards keep their own dates.
Without the demo setting the real clock rules. The Hot page shows several events with heat on
the demo's sparse desk, each heat and marker what the page's own words compute from the
event's timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from newsdesk.config import DEMO_AS_OF
from newsdesk.store import schema as t

PAGES = ("/", "/all", "/events", "/sources", "/daily", "/signin")


def test_demo_desk_reads_the_snapshot_on_its_own_clock(client_for, desk) -> None:
    demo = client_for(demo=True)
    for path in PAGES:
        page = demo.get(path)
        assert page.status_code == 200, path
        assert "Demo snapshot as of Mon 24 Nov 2025, 18:00 UTC" in page.text, path

    hot = demo.get("/api/v1/hot", params={"limit": 5}).json()["events"]
    assert hot[0]["heat"] > 0.9 and "new" in hot[0]["markers"]  # Claude Opus 4.5, an hour old
    assert "Opus 4.5" in hot[0]["title"]["en"]
    events_page = demo.get("/events").text
    assert re.search(r"heat (0\.9\d|1\.00)", events_page) and "marker marker-new" in events_page
    assert '<span class="age">1h ago</span>' in demo.get("/").text

    # a card keeps its own date: the o3-mini system card still reads 11:00 · 01·31
    with desk.read() as conn:
        o3 = conn.execute(
            select(t.items.c.id).where(t.items.c.title.like("%o3-mini System Card%"))
        ).scalar_one()
    card = demo.get(f"/items/{o3}").text
    assert "11:00 · 01·31" in card and "d ago" in card

    # the snapshot's last day has its brief
    with desk.read() as conn:
        reports = {tuple(r) for r in conn.execute(select(t.reports.c.kind, t.reports.c.period))}
    assert ("daily", "2025-11-24") in reports and ("weekly", "2025-11-17") in reports
    assert demo.get("/daily/2025-11-24").status_code == 200


def test_without_the_demo_setting_the_real_clock_rules(client_for, desk) -> None:
    real = client_for()
    assert "Demo snapshot" not in real.get("/events").text
    hot = real.get("/api/v1/hot", params={"limit": 5}).json()["events"]
    assert "new" not in hot[0]["markers"]  # a 2025 story is not new today
    assert '<span class="age">1h ago</span>' not in real.get("/").text


EVENT = re.compile(r'<li class="event" data-event="(\d+)">(.*?)</li>', re.S)
SCALE = re.compile(
    r"reported an event in the last (\d+) (hours|days) counts once, halved every (\d+(?:\.\d+)?) "
    r"(hours|days) since its latest report"
)
MARKERS = re.compile(r"<span class=\"marker key-new\">new</span> first reported in the last "
                     r"(\d+(?:\.\d+)?) (hours|days)")  # fmt: skip


def _span(number: str, unit: str) -> timedelta:
    return timedelta(hours=float(number) * (24 if unit == "days" else 1))


def test_hot_events_on_the_sparse_demo_desk_show_heat_a_reader_can_check(client_for, desk):
    """The demo files 1-3 stories a day; its last 48 hours hold one. The Hot page still shows
    several events with heat, says the window and half-life it used, and each heat and "new"
    marker is what those words give from the event's own timeline (the event's JSON)."""
    demo = client_for(demo=True)
    page = demo.get("/events").text
    scale = SCALE.search(page)
    assert scale, "the Hot page says how heat is computed"
    window, half_life = _span(*scale.group(1, 2)), _span(*scale.group(3, 4))
    new_within = _span(*MARKERS.search(page).group(1, 2))  # type: ignore[union-attr]
    assert window == timedelta(days=14) and half_life == timedelta(days=7)
    assert new_within == timedelta(hours=42)

    shown = []
    for event_id, body in EVENT.findall(page):
        heat = float(re.search(r"heat (\d+\.\d\d)</span>", body).group(1))  # type: ignore[union-attr]
        marks = re.findall(r'class="marker marker-(\w+)"', body)
        shown.append((int(event_id), heat, marks))
    hot = [e for e in shown if e[1] > 0]
    assert len(hot) >= 3, shown[:6]
    assert any({"new", "rising"} & set(marks) for _, _, marks in hot)
    assert [h for _, h, _ in shown] == sorted((h for _, h, _ in shown), reverse=True)

    now = DEMO_AS_OF
    for event_id, heat, marks in shown[: len(hot) + 2]:  # the hot ones and the next cold ones
        members = demo.get(f"/api/v1/events/{event_id}").json()["members"]
        latest: dict[str, datetime] = {}
        first = min(datetime.fromisoformat(m["at"]) for m in members)
        for m in members:
            at = datetime.fromisoformat(m["at"])
            if at <= now and now - at <= window:
                latest[m["source"]["id"]] = max(at, latest.get(m["source"]["id"], at))
        by_hand = sum(0.5 ** ((now - at) / half_life) for at in latest.values())
        assert abs(heat - by_hand) < 0.006, (event_id, heat, by_hand)
        assert ("new" in marks) == (now - new_within < first <= now), (event_id, marks)
