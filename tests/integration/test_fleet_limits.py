"""Model concurrency and budgets hold for several processes together (PostgreSQL): two
providers on two connection pools stand for two workers."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from fakes.fake_llm import FakeLLM
from newsdesk.config import load_settings
from newsdesk.editor.providers import BudgetExceeded, LLMProvider
from newsdesk.runner.editor import StoreReceipts
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade


class Answer(BaseModel):
    ok: bool = True


@pytest.fixture
def two_workers(database_url: str):
    if database_url.startswith("sqlite"):
        pytest.skip("one process on SQLite: fleet limits are PostgreSQL's")
    first, second = Database(database_url), Database(database_url)
    upgrade(first)
    yield first, second
    first.close()
    second.close()


async def test_slots_bound_calls_on_the_wire_across_processes(two_workers) -> None:
    books = [StoreReceipts(db) for db in two_workers]
    inside, most = 0, 0

    async def call(book: StoreReceipts) -> None:
        nonlocal inside, most
        async with book.slot("fake", 2):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.2)
            inside -= 1

    await asyncio.gather(*(call(books[n % 2]) for n in range(8)))
    assert most == 2


async def test_a_calls_budget_holds_for_two_workers_together(two_workers) -> None:
    with FakeLLM(latency=0.2) as fake:
        settings = load_settings(llm_base_url=fake.base_url, llm_model="fake-editor",
                                 llm_concurrency=8, llm_budget_calls_per_hour=5)  # fmt: skip
        providers = [LLMProvider(settings, StoreReceipts(db)) for db in two_workers]
        messages = [[{"role": "user", "content": f"question {n}"}] for n in range(16)]

        async def ask(n: int) -> str:
            try:
                await providers[n % 2].complete_json("judge", messages[n], Answer)
                return "answered"
            except BudgetExceeded:
                return "paused"

        outcomes = await asyncio.gather(*(ask(n) for n in range(16)))
        for provider in providers:
            await provider.close()
        paid = sum(e.status == 200 for e in fake.log)
    assert 1 <= paid <= 5 and outcomes.count("answered") == paid
    assert outcomes.count("paused") == 16 - paid


async def test_many_calls_in_flight_do_not_hold_the_connection_pool(two_workers) -> None:
    """More calls on the wire than the pool has connections, each writing while it holds its
    slot (as a receipt is settled): none waits for a connection (a slot holds none)."""
    db = two_workers[0]
    book = StoreReceipts(db)

    async def call(n: int) -> None:
        async with book.slot("wide", 64):
            await asyncio.sleep(0.3)
            await db.write(lambda c: c.exec_driver_sql("SELECT 1"))

    await asyncio.wait_for(asyncio.gather(*(call(n) for n in range(48))), timeout=20)


async def test_a_dead_holders_slot_comes_back_when_its_lease_runs_out(two_workers) -> None:
    """A slot whose holder stopped renewing (a killed worker) is free again after the lease."""
    from datetime import UTC, datetime, timedelta

    from newsdesk.store import state

    db = two_workers[0]
    gone = datetime.now(UTC) + timedelta(seconds=2)
    taken = db.write_sync(lambda c: state.take_slot(c, "lost", 1, "killed-worker", gone))
    assert taken is not None
    assert db.write_sync(lambda c: state.take_slot(c, "lost", 1, "other", gone)) is None
    await asyncio.sleep(2.5)
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert db.write_sync(lambda c: state.take_slot(c, "lost", 1, "other", later)) == taken
