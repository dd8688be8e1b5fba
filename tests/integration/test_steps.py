"""The step shape (runner/steps.py): steps chained by their `next` ids give the desk `run_once`
gives, a step run twice on the same ids does nothing the second time, and results are JSON."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.runner.steps import PENDING, STEPS, StepContext, StepResult, pending
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade


@pytest.fixture
def demo() -> Iterator[list]:
    with DemoFeedServer() as base:
        yield load_catalog(DEMO_CATALOG, demo_base=base)


def desk(db: Database) -> dict[str, Any]:
    """What a reader would notice: every story's tier, and which stories share an event."""
    with db.read() as conn:
        i, m = t.items.c, t.event_members.c
        tiers = {r.identity_key: r.tier for r in conn.execute(select(i.identity_key, i.tier))}
        rows = conn.execute(
            select(i.identity_key, m.event_id).join(t.event_members, m.item_id == i.id)
        )
        by_event: dict[int, set[str]] = {}
        for key, event_id in rows:
            by_event.setdefault(event_id, set()).add(key)
    return {"tiers": tiers, "events": sorted(sorted(s) for s in by_event.values())}


async def chain(ctx: StepContext, source_ids: list[str]) -> list[StepResult]:
    """What the workers do: run a step, hand each id list in `next` to its step."""
    queue: deque[tuple[str, list[Any]]] = deque([("collect", source_ids)])
    results = []
    while queue:
        name, ids = queue.popleft()
        result = await STEPS[name](ctx, ids)
        results.append(StepResult.from_json(json.loads(json.dumps(result.as_json()))))
        queue.extend(result.next.items())
    results.append(await STEPS["outputs"](ctx, []))
    return results


async def test_steps_chained_by_next_give_the_run_once_desk(db, demo, tmp_path: Path) -> None:
    settings = load_settings(allow_private_urls=True)
    policy = load_policy()
    reference = Database(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(reference)
    try:
        summary = await run_once(reference, settings, policy, catalog=demo, demo=True)
        expected = desk(reference)
    finally:
        reference.close()

    await db.write(lambda c: repo.upsert_sources(c, demo, datetime.now(UTC)))
    async with StepContext(db, settings, policy, demo=True) as ctx:
        results = await chain(ctx, [s.id for s in demo])
        # nothing is left pending once the chain ran out
        for name in ("embed", "group", "judge", "judge_events"):
            assert await pending(ctx, name) == [], name
    assert desk(db) == expected
    judged = sum(r.counts["judged"] for r in results)
    assert judged == summary.judged == len(expected["tiers"])
    assert {r.step for r in results} >= {"collect", "full_text", "embed", "group", "judge",
                                         "outputs"}  # fmt: skip


async def test_a_step_run_again_on_the_same_ids_does_nothing(db, demo) -> None:
    settings = load_settings(allow_private_urls=True)
    policy = load_policy()
    await db.write(lambda c: repo.upsert_sources(c, demo, datetime.now(UTC)))
    async with StepContext(db, settings, policy, demo=True) as ctx:
        collected = await STEPS["collect"](ctx, [s.id for s in demo])
        new = collected.next["full_text"]
        assert collected.counts["outcomes.new"] == len(new) > 0
        # the judge waits for an episode's transcript to be looked for, as run_once does
        await STEPS["transcripts"](ctx, new)
        grouped = await STEPS["group"](ctx, new)
        assert grouped.counts["grouped"] == len(new)
        first = await STEPS["judge"](ctx, new)
        again = await STEPS["judge"](ctx, new)
        regrouped = await STEPS["group"](ctx, new)
    assert first.counts["judged"] == len(new)
    assert again.counts["judged"] == 0 and regrouped.counts["grouped"] == 0
    with db.read() as conn:
        assert len(conn.execute(select(t.judgements.c.id)).all()) == len(new)


def test_every_step_has_a_pending_query() -> None:
    assert list(PENDING) == list(STEPS)


async def test_two_jobs_on_the_same_ids_at_once_store_each_verdict_once(db, demo) -> None:
    """A sweep's job beside a group's, or a stalled job retried beside the one that replaced
    it: two jobs judge and comment the same stories and events at the same moment. The model
    is paid once per request (receipts), and each story and event gets one judgement and at
    most one commentary."""
    import asyncio

    from fakes.fake_llm import FakeLLM

    with FakeLLM(latency=0.05) as fake:
        settings = load_settings(allow_private_urls=True, llm_base_url=fake.base_url,
                                 llm_model="fake-editor", llm_concurrency=16)  # fmt: skip
        policy = load_policy()
        await db.write(lambda c: repo.upsert_sources(c, demo, datetime.now(UTC)))
        async with StepContext(db, settings, policy, demo=True) as ctx:
            new = (await STEPS["collect"](ctx, [s.id for s in demo])).next["full_text"]
            await STEPS["transcripts"](ctx, new)  # episodes are judged with theirs
            await STEPS["embed"](ctx, new)
            grouped = await STEPS["group"](ctx, new)

            async def twice(step: str, ids: list[Any]) -> list[StepResult]:
                return list(await asyncio.gather(STEPS[step](ctx.for_task(), ids),
                                                 STEPS[step](ctx.for_task(), ids)))  # fmt: skip

            judged = await twice("judge", new)
            events = await twice("judge_events", grouped.next["judge_events"])
            comments = [x for r in judged for x in r.next.get("comment", [])]
            event_comments = [x for r in events for x in r.next.get("comment_events", [])]
            commented = await twice("comment", sorted(set(comments)))
            commented += await twice("comment_events", sorted(set(event_comments)))
        paid_twice = fake.paid_twice()
    with db.read() as conn:
        j, ej, c = t.judgements.c, t.event_judgements.c, t.commentary.c
        per_item = conn.execute(select(j.item_id, func.count()).group_by(j.item_id)).all()
        per_event = conn.execute(select(ej.event_id, func.count()).group_by(ej.event_id)).all()
        per_owner = conn.execute(
            select(c.item_id, c.event_id, func.count()).group_by(c.item_id, c.event_id)
        ).all()
        unjudged = conn.execute(
            select(func.count()).select_from(t.items).where(t.items.c.judgement_id.is_(None))
        ).scalar_one()
    assert paid_twice == []
    assert unjudged == 0 and len(per_item) == len(new)
    assert all(n == 1 for _, n in per_item), [r for r in per_item if r[1] > 1]
    assert per_event and all(n == 1 for _, n in per_event), per_event
    assert per_owner and all(n == 1 for *_, n in per_owner), per_owner
    # each job counts only what it stored
    assert sum(r.counts["judged"] for r in judged) == len(new)
    assert sum(r.counts["events_judged"] for r in events) == len(per_event)
    assert sum(r.counts["commented"] for r in commented) == len(per_owner)
