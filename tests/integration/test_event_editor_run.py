"""Event-level judgement and commentary through `run_once`, on both engines, with the fake model.

The demo's "Introducing GPT-5" is reported by several demo sources. It must be judged once as
an event and commented once (never once per report), the card, event page and API must show the
event's verdict and commentary, a rerun must pay nothing, and an editor's split must leave a
consistent desk that the next pass re-judges.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from fakes.fake_llm import FakeLLM, Rule
from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.publish.read import get_card
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import events as store_events
from newsdesk.store import schema as t
from newsdesk.web.app import create_app

EVENT = "Introducing GPT-5"


@dataclass
class CountingRule(Rule):
    """A scripted rule that also counts the requests it answered (the fake logs no text)."""

    hits: int = 0

    def matches(self, text: str, schema: str, model: str) -> bool:
        found = super().matches(text, schema, model)
        self.hits += found
        return found


@pytest.fixture
def demo() -> Iterator[list]:
    with DemoFeedServer() as base:
        yield load_catalog(DEMO_CATALOG, demo_base=base)


def _p1(title: str) -> dict[str, Any]:
    return {
        "hkr": {"hook": True, "hook_reason": "a flagship launch", "knowledge": True,
                "knowledge_reason": "gives figures", "resonance": True,
                "resonance_reason": "everyone tracks it"},
        "importance": 90, "hard_exclusion": False, "exclusion_reason": "",
        "tags": {"capabilities": ["Reasoning"], "entities": [], "topics": ["Product update"]},
        "title_en": title, "title_zh": title, "summary_en": "", "summary_zh": "", "why": "",
    }  # fmt: skip


def _count(conn: Any, table: Any, *where: Any) -> int:
    return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


async def test_multi_source_event_is_judged_and_commented_once(db, demo) -> None:
    policy = load_policy()
    # Collect and group offline first, so the event and its reports are known; then clear the
    # verdicts so the model pass judges everything from scratch.
    await run_once(db, load_settings(allow_private_urls=True), policy, catalog=demo, demo=True)
    with db.read() as conn:
        m, i = t.event_members.c, t.items.c
        event_id = conn.execute(
            select(m.event_id).join(t.items, i.id == m.item_id).where(i.title == EVENT)
        ).scalar_one()
        reports = conn.execute(
            select(i.id, i.title, i.source_id)
            .join(t.event_members, m.item_id == i.id)
            .where(m.event_id == event_id)
        ).all()
        lead_id = conn.execute(
            select(t.events.c.lead_item_id).where(t.events.c.id == event_id)
        ).scalar_one()
    assert len({r.source_id for r in reports}) >= 2
    await db.write(lambda c: (c.execute(update(t.items).values(judgement_id=None, tier=None)),
                              c.execute(update(t.events).values(judgement_id=None, tier=None)),
                              c.execute(delete(t.judgements))))  # fmt: skip

    with FakeLLM() as fake:
        # Every report would be p1 on its own, so each would get a commentary of its own if
        # the event did not speak for them.
        counters = {}
        for r in reports:
            fence = f"<<<STORY\ntitle: {re.escape(r.title)}\n"
            fake.rules.append(Rule(schema="judgement", match=fence, reply=_p1(r.title)))
            counters[r.id] = CountingRule(schema="commentary", match=fence)
            fake.rules.append(counters[r.id])
        settings = load_settings(allow_private_urls=True, llm_base_url=fake.base_url,
                                 llm_model="fake-editor", llm_concurrency=8)  # fmt: skip
        first = await run_once(db, settings, policy, catalog=demo, demo=True)
        assert first.events_judged >= 1 and first.judge_failed == 0

        # One commentary call for the event (its prompt fences the lead), none per report.
        assert counters[lead_id].hits == 1
        assert all(counters[r.id].hits == 0 for r in reports if r.id != lead_id)
        with db.read() as conn:
            c = t.commentary.c
            assert _count(conn, t.commentary, c.event_id == event_id) == 1
            assert _count(conn, t.commentary, c.item_id.in_([r.id for r in reports])) == 0
            ej = t.event_judgements.c
            judged = conn.execute(  # the offline pass left a rules judgement before it
                select(t.event_judgements).where(ej.event_id == event_id, ej.editor != "rules")
            ).all()
            assert len(judged) == 1 and judged[0].receipt_id is not None
            assert judged[0].policy_version == policy.version
            assert judged[0].editor == "fake-editor" and judged[0].tier == "p1"
            # The per-story judgements remain.
            assert _count(conn, t.judgements, t.judgements.c.item_id.in_([r.id for r in reports])
                          ) == len(reports)  # fmt: skip
            card = get_card(conn, lead_id)
            event_take = conn.execute(select(c.take_en).where(c.event_id == event_id)).scalar()
        assert card is not None and card["verdict"] == "event" and card["tier"] == "p1"
        assert card["take"]["en"] == event_take and card["sharp"]["en"]

        # The event page, the API and the feed show the event's commentary.
        with TestClient(create_app(settings, db), base_url="http://desk.test") as client:
            page = client.get(f"/events/{event_id}")
            assert page.status_code == 200 and "Event commentary" in page.text
            assert event_take[:40].replace("'", "&#39;") in page.text
            api = client.get(f"/api/v1/events/{event_id}").json()
            assert api["lead"]["verdict"] == "event" and api["lead"]["take"]["en"] == event_take
            item = client.get(f"/api/v1/items/{lead_id}").json()
            assert item["verdict"] == "event" and item["take"]["en"] == event_take

        # Receipts: an unchanged pass pays nothing, and re-judging the event from scratch
        # (its verdict cleared) is answered from the stored receipt.
        calls = len(fake.log)
        again = await run_once(db, settings, policy, catalog=demo, demo=True)
        assert len(fake.log) == calls and again.events_judged == 0
        await db.write(lambda c: c.execute(
            update(t.events).where(t.events.c.id == event_id).values(judgement_id=None, tier=None)
        ))  # fmt: skip
        rejudged = await run_once(db, settings, policy, catalog=demo, demo=True)
        assert rejudged.events_judged == 1
        assert not [e for e in fake.log[calls:] if e.schema == "judgement"]
        assert fake.paid_twice() == []

        # An editor splits a report out: the event's verdict is dropped at once (the lead's own
        # shows), and the next pass judges the changed event again.
        other = next(r.id for r in reports if r.id != lead_id)
        await db.write(lambda c: store_events.split_item(c, event_id, other, datetime.now(UTC)))
        with db.read() as conn:
            assert (
                conn.execute(
                    select(t.events.c.judgement_id).where(t.events.c.id == event_id)
                ).scalar()
                is None
            )
            card = get_card(conn, lead_id)
            assert card is not None and card["verdict"] == "story"
            still_multi = len({r.source_id for r in reports if r.id != other}) >= 2
        after = await run_once(db, settings, policy, catalog=demo, demo=True)
        with db.read() as conn:
            current = conn.execute(
                select(t.events.c.judgement_id).where(t.events.c.id == event_id)
            ).scalar()
            ej = t.event_judgements.c
            history = _count(
                conn, t.event_judgements, ej.event_id == event_id, ej.editor != "rules"
            )
        if still_multi:
            assert after.events_judged >= 1 and current is not None and history == 3
        else:
            assert current is None  # one source left: its stories speak for themselves


async def test_without_a_model_events_are_judged_by_the_rules_once(db, demo) -> None:
    settings = load_settings(allow_private_urls=True)
    policy = load_policy()
    first = await run_once(db, settings, policy, catalog=demo, demo=True)
    assert first.events_judged >= 10 and first.events_commented == 0
    with db.read() as conn:
        ej = t.event_judgements.c
        assert _count(conn, t.event_judgements, ej.editor != "rules") == 0
        assert _count(conn, t.commentary) == 0
        event_id, lead_id, sources = conn.execute(
            select(t.events.c.id, t.events.c.lead_item_id, t.events.c.sources_count)
            .join(t.items, t.items.c.id == t.events.c.lead_item_id)
            .where(t.items.c.title == EVENT)
        ).one()
        why = conn.execute(
            select(ej.why).where(ej.event_id == event_id).order_by(ej.id.desc())
        ).scalar()
        card = get_card(conn, lead_id)
    assert f"{sources} sources +3" in why  # the coverage bonus, applied by code
    assert card is not None and card["verdict"] == "event" and card["why"] == why
    # A second pass over unchanged feeds judges no event again.
    again = await run_once(db, settings, policy, catalog=demo, demo=True)
    assert again.events_judged == 0 and again.judged == 0
