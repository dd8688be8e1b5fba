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
