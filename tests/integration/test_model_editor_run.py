"""The model editor through `run_once`, on both engines, against the fake model server.

Covers the wiring (judged by the model, commentary for p1/featured, guard flags, receipts),
budgets that pause the step while collecting goes on, and the fault run of issue 4 point 11:
with 25% of calls failing in every way the fake knows, every story ends judged or marked failed
with a reason, later passes finish the job, and no request body is answered twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from fakes.fake_llm import FAULT_KINDS, FakeLLM, Rule
from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.publish.read import get_card
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import schema as t
from newsdesk.store.event_judgements import events_to_judge, multi_source_item_ids


@pytest.fixture
def demo() -> Iterator[list]:
    with DemoFeedServer() as base:
        yield load_catalog(DEMO_CATALOG, demo_base=base)


def settings_for(fake: FakeLLM, **overrides: object):
    values: dict[str, object] = {"allow_private_urls": True, "llm_base_url": fake.base_url,
                                 "llm_model": "fake-editor", "llm_concurrency": 16}  # fmt: skip
    return load_settings(**(values | overrides))


def count(conn, table, *where) -> int:
    query = select(func.count()).select_from(table)
    for clause in where:
        query = query.where(clause)
    return conn.execute(query).scalar_one()


async def test_model_judges_comments_and_pays_once(db, demo) -> None:
    with FakeLLM() as fake:
        # The o3-mini card: a scripted answer that hallucinates a number in the summary.
        fake.rules.append(Rule(schema="judgement", match="title: OpenAI o3-mini System Card",
                               reply=_o3_answer()))  # fmt: skip
        settings = settings_for(fake)
        policy = load_policy()
        first = await run_once(db, settings, policy, catalog=demo, demo=True)
        calls = len(fake.log)
        assert first.judged == 119 and first.judge_failed == 0
        with db.read() as conn:
            # Stories of multi-source events are commented once, as their event.
            in_events = multi_source_item_ids(
                conn,
                list(
                    conn.execute(
                        select(t.items.c.id).where(t.items.c.tier.in_(("p1", "featured")))
                    ).scalars()
                ),
            )
            hot_events = count(conn, t.events, t.events.c.tier.in_(("p1", "featured")))
        assert first.events_commented == hot_events > 0
        assert first.commented == (
            first.tiers["p1"] + first.tiers["featured"] - len(in_events) + hot_events
        )
        with db.read() as conn:
            o3 = conn.execute(
                select(t.items.c.id).where(t.items.c.title == "OpenAI o3-mini System Card")
            ).scalar_one()
            card = get_card(conn, o3)
            flags = conn.execute(
                select(t.guard_flags.c.field, t.guard_flags.c.action).where(
                    t.guard_flags.c.item_id == o3
                )
            ).all()
            assert count(conn, t.judgements, t.judgements.c.receipt_id.is_(None)) == 0
            assert count(conn, t.usage) == calls  # one usage row per paid call
            versions = conn.execute(select(t.policy_versions.c.version)).scalars().all()
        assert card is not None and card["tier"] == "p1" and card["editor"] == "fake-editor"
        assert card["take"]["en"] and card["sharp"]["en"]  # commentary from the model
        assert "40 hours" not in card["summary"]["en"]
        assert ("summary_en", "dropped") in flags  # the fake repairs with the same claim
        assert versions == [policy.version]

        # A second pass over unchanged feeds pays for nothing.
        await run_once(db, settings, policy, catalog=demo, demo=True)
        assert len(fake.log) == calls
        # Re-judging from scratch (judgements cleared) reuses every stored answer.
        await db.write(lambda c: (c.execute(t.items.update().values(judgement_id=None)),
                                  c.execute(t.commentary.delete())))  # fmt: skip
        again = await run_once(db, settings, policy, catalog=demo, demo=True)
        assert again.judged == 119 and again.commented == first.commented
        # Judgement requests are identical, so every one comes from its receipt. Commentary
        # may ask anew where the desk's history (the related stories in the prompt) has grown.
        assert not [e for e in fake.log[calls:] if e.schema in ("judgement", "rewrite")]
        assert fake.paid_twice() == []


def _o3_answer() -> dict:
    return {
        "hkr": {"hook": True, "hook_reason": "first Medium autonomy rating", "knowledge": True,
                "knowledge_reason": "ratings and gates", "resonance": True,
                "resonance_reason": "deployment policy"},
        "importance": 84, "hard_exclusion": False, "exclusion_reason": "",
        "tags": {"capabilities": ["Reasoning", "Safety"], "entities": ["OpenAI"],
                 "topics": ["Safety/alignment"]},
        "title_en": "OpenAI o3-mini System Card", "title_zh": "OpenAI o3-mini 系统卡",
        "summary_en": "OpenAI red-teamed o3-mini for 40 hours and rates it Medium.",
        "summary_zh": "OpenAI 将 o3-mini 评为 Medium。",
        "why": "Official card; all three HKR pass.",
    }  # fmt: skip


async def test_budget_pauses_the_model_steps_and_collect_goes_on(db, demo) -> None:
    with FakeLLM() as fake:
        settings = settings_for(fake, llm_budget_calls_per_day=30, llm_concurrency=4)
        summary = await run_once(db, settings, load_policy(), catalog=demo, demo=True)
    assert summary.outcomes["new"] == 119  # collecting was not stopped
    assert "budget" in summary.paused and "limit 30" in summary.paused
    assert summary.judged < 119 and summary.judge_failed == 0
    with db.read() as conn:
        stats = conn.execute(select(t.pipeline_runs.c.stats)).scalar_one()
        assert count(conn, t.usage) <= 30
    assert stats["paused"] == summary.paused  # visible in the run record


async def test_a_budget_set_in_the_admin_pauses_the_model_steps(db, demo) -> None:
    from urllib.parse import urlsplit

    from newsdesk.store import reader

    with FakeLLM() as fake:
        service = urlsplit(fake.base_url).netloc
        db.write_sync(lambda c: reader.set_budget(c, service, "hour", 12, None, None))
        settings = settings_for(fake, llm_concurrency=4)  # no budget in the settings
        summary = await run_once(db, settings, load_policy(), catalog=demo, demo=True)
    assert "limit 12" in summary.paused and "this hour" in summary.paused
    with db.read() as conn:
        assert count(conn, t.usage) <= 12


async def test_faults_in_every_way_end_judged_and_paid_once(db, demo) -> None:
    with FakeLLM(fault_rate=0.25, fault_kinds=FAULT_KINDS, retry_after=0.01,
                 hang_seconds=1.5, seed=11) as fake:  # fmt: skip
        settings = settings_for(fake, llm_timeout_seconds=0.5, llm_max_retries=2,
                                llm_unknown_hold_minutes=0)  # fmt: skip
        policy = load_policy()
        first = await run_once(db, settings, policy, catalog=demo, demo=True)
        with db.read() as conn:
            i = t.items.c
            unjudged = count(conn, t.items, i.judgement_id.is_(None))
            by_rules = conn.execute(select(i.judge_error).where(i.judge_error.is_not(None)))
            reasons = by_rules.scalars().all()
        # Every story is judged: by the model, or by the rules in its place, the reason kept
        # on the story for the next pass.
        assert first.judged == 119 and unjudged == 0
        assert first.judge_failed == first.judged_by_rules == len(reasons) and all(reasons)
        assert first.judge_failed > 0  # 25% faults do bite
        # A failed commentary leaves no text in judge_error (it used to, and the text stayed on
        # a story whose judgement was fine): only the rules' stand-ins carry a reason.
        assert first.comment_failed > 0
        for _ in range(8):
            summary = await run_once(db, settings, policy, catalog=demo, demo=True)
            failed = summary.judge_failed + summary.comment_failed + summary.events_failed
            if failed == 0:
                break
        with db.read() as conn:
            assert count(conn, t.items, t.items.c.judgement_id.is_(None)) == 0
            # and in the end the model judged every one of them
            assert count(conn, t.items, t.items.c.judge_error.is_not(None)) == 0
            # every multi-source event ends with its own judgement too
            assert [e.event_id for e in events_to_judge(conn) if e.judged is None] == []
        assert {e.fault for e in fake.log} >= set(FAULT_KINDS)
        # No request body got a good answer twice: only failed calls were ever re-sent.
        assert fake.paid_twice() == []


async def test_a_budget_pause_shows_in_the_admin_until_model_work_resumes(db, demo) -> None:
    import re

    from fastapi.testclient import TestClient

    from newsdesk.web.app import create_app

    def budgets_page(settings) -> str:
        with TestClient(create_app(settings, db), base_url="http://desk.test") as client:
            page = client.get("/signin")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            client.post("/signin", data={"password": "pw-for-tests", "csrf": csrf})
            return client.get("/admin/budgets").text

    with FakeLLM() as fake:
        spent = settings_for(fake, llm_budget_calls_per_day=10, llm_concurrency=2,
                             admin_password="pw-for-tests", page_cache_seconds=0)  # fmt: skip
        summary = await run_once(db, spent, load_policy(), catalog=demo, demo=True)
        assert "limit 10" in summary.paused
        assert "Model steps are paused" in budgets_page(spent)
        assert "limit 10" in budgets_page(spent)
        free = settings_for(fake, admin_password="pw-for-tests", page_cache_seconds=0)
        resumed = await run_once(db, free, load_policy(), catalog=demo, demo=True)
        assert resumed.paused == "" and resumed.judged > 0
        assert "Model steps are paused" not in budgets_page(free)
