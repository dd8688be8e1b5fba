"""Events on both engines: the demo's multi-source events, editors' decisions, heat, API."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.publish.events import get_event, hot_events
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.events import group_pending, refresh_heat
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import events as ev
from newsdesk.store import schema as t
from newsdesk.web.app import create_app

MULTI_SOURCE = ["DeepSeek-R1 Release", "Announcing The Stargate Project", "Introducing GPT-4.5",
                "Claude 3.7 Sonnet and Claude Code", "Gemini 2.5: Our most intelligent AI model",
                "Qwen3: Think Deeper, Act Faster", "Introducing Claude 4", "Grok 4",
                "Introducing gpt-oss", "Introducing GPT-5", "DeepSeek-V3.1 Release",
                "Introducing Claude Sonnet 4.5"]  # fmt: skip


async def demo_desk(db):
    settings = load_settings(allow_private_urls=True)
    with DemoFeedServer() as base:
        catalog = load_catalog(DEMO_CATALOG, demo_base=base)
        await run_once(db, settings, load_policy(), catalog=catalog, demo=True)
    return settings


def event_of(conn, title: str) -> int:
    return conn.execute(
        select(t.event_members.c.event_id)
        .join(t.items, t.items.c.id == t.event_members.c.item_id)
        .where(t.items.c.title == title)
    ).scalar_one()


def members(conn, event_id: int) -> set[int]:
    m = t.event_members.c
    return set(conn.execute(select(m.item_id).where(m.event_id == event_id)).scalars())


async def test_demo_events_merge_across_languages_and_editors_win_over_regroup(db) -> None:
    settings = await demo_desk(db)
    with db.read() as conn:
        for title in MULTI_SOURCE:
            event = get_event(conn, event_of(conn, title), now=datetime.now(UTC))
            assert event is not None and event["sources_count"] >= 2, title
        # the lead is first-party and the Chinese report is a member of the same event
        r1 = get_event(conn, event_of(conn, "DeepSeek-R1 Release"))
        assert r1["lead"]["source"]["tier"] == "T1"
        assert any(m["source"]["id"] == "jiqi-qianyan" for m in r1["members"])
        # hard negative: same company, a different launch
        assert event_of(conn, "Introducing GPT-5") != event_of(conn, "Introducing gpt-oss")
        stargate = event_of(conn, "Announcing The Stargate Project")
        r1_id = event_of(conn, "DeepSeek-R1 Release")
        gpt5 = event_of(conn, "Introducing GPT-5")
        gpt5_members = members(conn, gpt5)
        wire = conn.execute(
            select(t.items.c.id).where(t.items.c.title.like("GPT-5 arrives%"))
        ).scalar_one()

    now = datetime.now(UTC)
    await db.write(lambda c: ev.merge_events(c, r1_id, stargate, now))
    new_event = await db.write(lambda c: ev.split_item(c, gpt5, wire, now))
    with db.read() as conn:
        merged = members(conn, r1_id)
    # A regroup forgets automatic decisions only.
    reset = await db.write(lambda c: ev.reset_grouping(c, None, now))
    assert reset > 0
    await group_pending(db, now)
    with db.read() as conn:
        assert members(conn, r1_id) == merged
        assert event_of(conn, "GPT-5 arrives for every ChatGPT user, with a router deciding "
                        "when to think") == new_event  # fmt: skip
        assert members(conn, gpt5) == gpt5_members - {wire}
        leads = conn.execute(
            select(t.event_members.c.item_id).where(
                t.event_members.c.event_id == r1_id, t.event_members.c.relation == "lead"
            )
        ).all()
        assert len(leads) == 1  # one root per event after a merge

    client = TestClient(create_app(settings, db))
    body = client.get(f"/api/v1/events/{r1_id}").json()
    assert body["sources_count"] >= 5 and body["also_reported_by"] == body["sources_count"] - 1
    assert {m["relation"] for m in body["members"]} >= {"lead", "same_occurrence"}
    assert client.get("/api/v1/events/999999").status_code == 404
    hot = client.get("/api/v1/hot?limit=5").json()["events"]
    assert len(hot) == 5 and all(e["lead"] for e in hot)
    page = client.get(f"/events/{r1_id}")
    assert page.status_code == 200 and "also reported by" in page.text
    assert client.get("/events").status_code == 200
    assert client.get("/events/999999").status_code == 404


async def test_heat_rising_new_and_surge_markers(db) -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def seed(c):
        for n in range(4):
            c.execute(t.sources.insert().values(
                id=f"s{n}", name=f"S{n}", url="https://x.example", kind="rss", group_name="media",
                language="en", tier="T2" if n else "T3", cadence_min=15, cadence_max=60,
                tags=[], enabled=True, notes="", created_at=now))  # fmt: skip
        ids = []
        for n in range(4):
            ids.append(c.execute(t.items.insert().values(
                identity_key=f"url:https://x.example/{n}", source_id=f"s{n}",
                url=f"https://x.example/{n}", title="Nova-9 launches", body_text="Nova-9",
                language="en", filed_at=now - timedelta(hours=n), first_seen_at=now,
                updated_at=now, content_hash=str(n), tier="featured", importance=80,
                backfill=False).returning(t.items.c.id)).scalar_one())  # fmt: skip
        return ids

    await db.write(seed)
    await group_pending(db, now)
    await refresh_heat(db, now - timedelta(hours=7))  # an older, cooler snapshot
    await refresh_heat(db, now)
    with db.read() as conn:
        events = hot_events(conn, now=now)
    assert len(events) == 1
    event = events[0]
    assert event["sources_count"] == 4
    expected = sum(0.5 ** (h / 24) for h in range(4))
    assert abs(event["heat"] - expected) < 1e-2
    assert set(event["markers"]) == {"new", "surge"}


NOVA = ("Nova-9", "诺瓦九号")


class ScriptedModel:
    """In-process stand-in for the desk's model client: judges by a shared word in titles."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def complete_json(self, purpose, messages, schema):
        self.calls.append(purpose)
        content = messages[1]["content"]
        blocks = content.split("CANDIDATE ")[1:]
        judgements = []
        for n, block in enumerate(blocks, 1):
            head = content.split("CANDIDATE ")[0]
            same = any(w in block for w in NOVA) and any(w in head for w in NOVA)
            judgements.append({"candidate": n, "relation": "same_occurrence" if same
                               else "unrelated", "confidence": 0.9})  # fmt: skip
        return {"judgements": judgements}


async def test_model_mode_finds_candidates_through_stored_vectors(db) -> None:
    import numpy as np

    from newsdesk.runner.embed import StoryEmbedder, embed_pending
    from newsdesk.runner.events import ModelMode

    async def run(texts):  # a stand-in embedder: one direction for Nova, another for the rest
        return np.array([[1.0, 0.0] if any(w in x for w in NOVA) else [0.0, 1.0] for x in texts],
                        dtype=np.float32)  # fmt: skip

    now = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def seed(c):
        for n, (title, text) in enumerate([
            ("Nova-9 launches", "Example Lab model"),
            ("诺瓦九号发布", "中文报道"),  # nothing in common with the text: found by embedding
            ("Chip prices rise", "memory"),
        ]):  # fmt: skip
            c.execute(t.sources.insert().values(
                id=f"m{n}", name=f"M{n}", url="https://x.example", kind="rss", group_name="media",
                language="en", tier="T2", cadence_min=15, cadence_max=60, tags=[],
                enabled=True, notes="", created_at=now))  # fmt: skip
            c.execute(t.items.insert().values(
                identity_key=f"url:https://m.example/{n}", source_id=f"m{n}",
                url=f"https://m.example/{n}", title=title, body_text=text, language="en",
                filed_at=now + timedelta(hours=n), first_seen_at=now, updated_at=now,
                content_hash=str(n), backfill=False))  # fmt: skip

    await db.write(seed)
    assert await embed_pending(db, StoryEmbedder("fake/2", 2, run), now) == 3
    model = ScriptedModel()
    done = await group_pending(db, now, model=ModelMode(model), vectors_model="fake/2")
    grouped, created = done.placed, done.created
    assert (grouped, created) == (3, 2)
    with db.read() as conn:
        assert event_of(conn, "Nova-9 launches") == event_of(conn, "诺瓦九号发布")
        assert event_of(conn, "Chip prices rise") != event_of(conn, "Nova-9 launches")
    assert model.calls and set(model.calls) == {"group"}


async def test_grouping_keeps_lead_span_and_coverage_current(db) -> None:
    """Each join refreshes the event: the first-party report leads, the span and the coverage
    (discoveries included) follow every new member."""
    now = datetime(2026, 4, 2, 12, tzinfo=UTC)
    reports = [("w1", "T2", 5, "Nova-7 launches " + "long body " * 40),
               ("lab", "T1", 3, "Nova-7 launches"),
               ("w2", "T2", 1, "Nova-7 launches, more")]  # fmt: skip

    def seed(c):
        for sid, tier in [(s, tier) for s, tier, _, _ in reports] + [("agg", "T3")]:
            c.execute(t.sources.insert().values(
                id=sid, name=sid, url="https://x.example", kind="rss", group_name="media",
                language="en", tier=tier, cadence_min=15, cadence_max=60, tags=[],
                enabled=True, notes="", created_at=now))  # fmt: skip
        ids = {}
        for sid, _, hours, body in reports:
            ids[sid] = c.execute(t.items.insert().values(
                identity_key=f"url:https://{sid}.example/nova", source_id=sid,
                url=f"https://{sid}.example/nova", title="Nova-7 launches", body_text=body,
                language="en", filed_at=now - timedelta(hours=hours), first_seen_at=now,
                updated_at=now, content_hash=sid, backfill=False).returning(t.items.c.id)
            ).scalar_one()  # fmt: skip
        c.execute(
            t.discoveries.insert().values(
                item_id=ids["w1"], source_id="agg", url="https://agg.example/1", seen_at=now
            )
        )
        return ids

    ids = await db.write(seed)
    done = await group_pending(db, now)
    assert (done.placed, done.created) == (3, 1)
    with db.read() as conn:
        event = conn.execute(select(t.events)).one()
    assert event.lead_item_id == ids["lab"]  # first-party beats the fuller body
    assert event.sources_count == 4  # three reporters and the aggregator that found one
    first, last = (x.replace(tzinfo=UTC) if x.tzinfo is None else x
                   for x in (event.first_seen_at, event.last_seen_at))  # fmt: skip
    assert (first, last) == (now - timedelta(hours=5), now - timedelta(hours=1))
