"""The demo reads its 2025 snapshot on the snapshot's clock: an hour after its newest story.

Hot events lead with non-zero heat and a "new" marker, ages count from the snapshot's last day,
the last day's brief exists, every page says so in a banner, and cards keep their own dates.
Without the demo setting the real clock rules."""

from __future__ import annotations

import re

from sqlalchemy import select

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
    assert re.search(r"heat 0\.9\d", events_page) and "marker-new" in events_page
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
