"""Grouping with a model configured: relations come from the model, through receipts."""

from __future__ import annotations

from sqlalchemy import func, select

from fakes.fake_llm import FakeLLM
from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import schema as t


async def test_model_judges_relations_and_demo_events_still_form(db) -> None:
    with DemoFeedServer() as base, FakeLLM() as fake:
        catalog = load_catalog(DEMO_CATALOG, demo_base=base)
        settings = load_settings(
            allow_private_urls=True, llm_base_url=fake.base_url, llm_model="fake-editor"
        )
        summary = await run_once(db, settings, load_policy(), catalog=catalog, demo=True)
        relation_calls = [e for e in fake.log if e.schema == "relation"]
        with db.read() as conn:
            multi = conn.execute(
                select(func.count()).select_from(t.events).where(t.events.c.sources_count > 1)
            ).scalar_one()
            receipts = conn.execute(
                select(func.count()).select_from(t.receipts).where(t.receipts.c.status == "ok")
            ).scalar_one()
        assert summary.grouped == 119
        assert relation_calls, "grouping asked the model nothing"
        assert multi >= 10  # the demo's multi-source events still come together
        assert receipts >= len(relation_calls)  # every relation answer was receipted
        assert fake.paid_twice() == []


async def test_relation_calls_asked_ahead_group_exactly_as_one_by_one(db) -> None:
    """The placing loop uses an answer asked ahead only for the same question, so the events
    are the same as when every story asks in turn."""
    from datetime import UTC, datetime

    from newsdesk.editor.providers import LLMProvider
    from newsdesk.runner.editor import StoreReceipts
    from newsdesk.runner.events import group_pending
    from newsdesk.runner.relations import grouping_model

    def partition(conn) -> set[frozenset[int]]:
        m = t.event_members.c
        events: dict[int, set[int]] = {}
        for item_id, event_id in conn.execute(select(m.item_id, m.event_id)):
            events.setdefault(event_id, set()).add(item_id)
        return {frozenset(v) for v in events.values()}

    async def regroup(settings, ahead: bool) -> set[frozenset[int]]:
        await db.write(lambda c: (c.execute(t.event_members.delete()),
                                  c.execute(t.events.delete())))  # fmt: skip
        provider = LLMProvider(settings, StoreReceipts(db))
        try:
            model = grouping_model(provider, settings)
            await group_pending(db, datetime.now(UTC), model=model, ask_ahead=ahead)
        finally:
            await provider.close()
        with db.read() as conn:
            return partition(conn)

    with DemoFeedServer() as base, FakeLLM() as fake:
        catalog = load_catalog(DEMO_CATALOG, demo_base=base)
        await run_once(db, load_settings(allow_private_urls=True), load_policy(),
                       catalog=catalog, demo=True)  # fmt: skip
        settings = load_settings(
            allow_private_urls=True, llm_base_url=fake.base_url, llm_model="fake-editor"
        )
        one_by_one = await regroup(settings, ahead=False)
        asked = len(fake.log)
        ahead = await regroup(settings, ahead=True)
        assert ahead == one_by_one and any(len(e) > 1 for e in ahead)
        # Questions asked ahead are the same requests: their receipts answer them.
        assert len(fake.log) - asked <= asked // 10
        assert fake.paid_twice() == []


async def test_rules_placements_made_in_the_models_place_are_settled_later(db) -> None:
    """Relation calls that fail leave their stories placed by the rules, marked so; a later run
    with the model answering asks it again (the same question) and regroups where it disagrees,
    ending with the events the model would have formed had it never failed."""
    from datetime import UTC, datetime

    from fakes.fake_llm import Rule
    from newsdesk.editor.providers import LLMProvider
    from newsdesk.runner.editor import StoreReceipts
    from newsdesk.runner.events import group_pending
    from newsdesk.runner.relations import grouping_model

    def partition(conn) -> set[frozenset[int]]:
        m = t.event_members.c
        events: dict[int, set[int]] = {}
        for item_id, event_id in conn.execute(select(m.item_id, m.event_id)):
            events.setdefault(event_id, set()).add(item_id)
        return {frozenset(v) for v in events.values()}

    def fallbacks(conn) -> int:
        m = t.event_members.c
        query = select(func.count()).select_from(t.event_members).where(m.fallback.is_not(None))
        return conn.execute(query).scalar_one()

    async def group(settings, reset: bool):
        if reset:
            await db.write(lambda c: (c.execute(t.event_members.delete()),
                                      c.execute(t.events.delete())))  # fmt: skip
        provider = LLMProvider(settings, StoreReceipts(db))
        try:
            return await group_pending(
                db, datetime.now(UTC), model=grouping_model(provider, settings)
            )
        finally:
            await provider.close()

    with DemoFeedServer() as base, FakeLLM() as fake:
        catalog = load_catalog(DEMO_CATALOG, demo_base=base)
        await run_once(db, load_settings(allow_private_urls=True), load_policy(),
                       catalog=catalog, demo=True)  # fmt: skip
        settings = load_settings(allow_private_urls=True, llm_base_url=fake.base_url,
                                 llm_model="fake-editor", llm_max_retries=0)  # fmt: skip
        await group(settings, reset=True)
        with db.read() as conn:
            expected = partition(conn)
        # Every relation call fails now; another model name, so no receipt answers for it.
        settings = settings.model_copy(update={"llm_model": "fake-other"})
        fake.rules.append(Rule(schema="relation", fault="500"))
        await group(settings, reset=True)
        with db.read() as conn:
            stood_in = fallbacks(conn)
            by_rules = partition(conn)
        assert stood_in > 10 and by_rules != expected  # the rules group the demo differently
        fake.rules.clear()  # the model answers again
        done = await group(settings, reset=False)
        with db.read() as conn:
            assert fallbacks(conn) == 0
            assert partition(conn) == expected
        assert done.placed == len(done.regrouped) > 0  # only what was regrouped was placed
