"""The model provider against the fake OpenAI-compatible server: structured output, retries,
receipts, held unknown outcomes, budgets and routing. No network: the fake is on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from fakes.fake_llm import FakeLLM, Rule
from newsdesk.config import load_settings
from newsdesk.editor.providers import (
    BudgetExceeded,
    CallHeld,
    InvalidOutput,
    Limits,
    LLMProvider,
    MemoryReceipts,
    ModelError,
    routes_from_settings,
)

MESSAGES = [{"role": "user", "content": "judge this"}]


class PingAnswer(BaseModel):
    ok: bool
    n: int


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM(retry_after=0.05, hang_seconds=3) as server:
        yield server


def provider(fake: FakeLLM, **overrides: object) -> tuple[LLMProvider, list[float]]:
    settings = load_settings(
        llm_base_url=fake.base_url, llm_model="m", llm_timeout_seconds=1, **overrides
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # record backoffs instead of waiting them out
        slept.append(seconds)

    return LLMProvider(settings, MemoryReceipts(), sleep=sleep), slept


async def test_json_schema_answer_is_validated_and_reused(fake: FakeLLM) -> None:
    fake.rules.append(Rule(schema="ping", reply={"ok": True, "n": 3}))
    client, _ = provider(fake)
    first = await client.call_json("judge", MESSAGES, PingAnswer)
    again = await client.call_json("judge", MESSAGES, PingAnswer)
    assert first.data == again.data == {"ok": True, "n": 3}
    assert first.receipt_id == again.receipt_id
    assert len(fake.log) == 1  # the second answer came from the receipt
    await client.close()


async def test_429_retries_honour_retry_after_and_500_backs_off(fake: FakeLLM) -> None:
    fake.rules += [Rule(fault="429", times=1), Rule(fault="500", times=1),
                   Rule(schema="ping", reply={"ok": True, "n": 1})]  # fmt: skip
    client, slept = provider(fake)
    answer = await client.call_json("judge", MESSAGES, PingAnswer)
    assert answer.data["n"] == 1
    assert [e.status for e in fake.log] == [429, 500, 200]
    assert slept[0] == pytest.approx(0.05)  # the Retry-After the server sent
    assert len(slept) == 2
    await client.close()


async def test_exhausted_retries_fail_with_reason(fake: FakeLLM) -> None:
    fake.rules.append(Rule(fault="500"))
    client, _ = provider(fake, llm_max_retries=2)
    with pytest.raises(ModelError, match="HTTP 500"):
        await client.call_json("judge", MESSAGES, PingAnswer)
    assert len(fake.log) == 3
    await client.close()


@pytest.mark.parametrize("fault", ["malformed", "schema"])
async def test_bad_json_gets_one_repair_call(fake: FakeLLM, fault: str) -> None:
    fake.rules += [Rule(fault=fault, times=1), Rule(schema="ping", reply={"ok": True, "n": 2})]
    client, _ = provider(fake)
    answer = await client.call_json("judge", MESSAGES, PingAnswer)
    assert answer.data == {"ok": True, "n": 2}
    assert len(answer.receipts) == 2 and len(fake.log) == 2
    await client.close()


async def test_twice_invalid_fails_and_is_asked_again_next_time(fake: FakeLLM) -> None:
    fake.rules.append(Rule(fault="schema", times=2))
    client, _ = provider(fake)
    with pytest.raises(InvalidOutput):
        await client.call_json("judge", MESSAGES, PingAnswer)
    # Unusable answers are not reused: the next pass asks again and gets a good answer.
    fake.rules.append(Rule(schema="ping", reply={"ok": True, "n": 5}))
    answer = await client.call_json("judge", MESSAGES, PingAnswer)
    assert answer.data["n"] == 5
    await client.close()


async def test_timeout_after_sending_is_held_not_resent(fake: FakeLLM) -> None:
    fake.rules.append(Rule(fault="hang", times=1))
    client, _ = provider(fake)
    with pytest.raises(ModelError, match="outcome unknown"):
        await client.call_json("judge", MESSAGES, PingAnswer)
    with pytest.raises(CallHeld, match="held until"):
        await client.call_json("judge", MESSAGES, PingAnswer)
    assert len(fake.log) == 1  # the identical request never went out again
    await client.close()


async def test_only_calls_on_the_wire_are_marked_sent(fake: FakeLLM) -> None:
    """A call waiting for one of the `llm_concurrency` slots has not been sent: its receipt
    is not pending yet, so a crash holds only the calls really on the wire."""
    import asyncio

    fake.latency = 0.2
    client, _ = provider(fake, llm_concurrency=2)
    book = client.book
    assert isinstance(book, MemoryReceipts)
    most = 0

    async def watch() -> None:
        nonlocal most
        while True:
            most = max(most, sum(r.status == "pending" for r in book.data.values()))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    asks = [[{"role": "user", "content": f"story {n}"}] for n in range(10)]
    await asyncio.gather(*(client.call_json("judge", m, PingAnswer) for m in asks))
    watcher.cancel()
    assert len(fake.log) == 10 and 1 <= most <= 2  # was 10: all marked before waiting
    assert all(r.status == "ok" for r in book.data.values())
    await client.close()


async def test_held_call_is_resent_after_the_hold(fake: FakeLLM) -> None:
    fake.rules.append(Rule(fault="hang", times=1))
    client, _ = provider(fake, llm_unknown_hold_minutes=0)
    with pytest.raises(ModelError):
        await client.call_json("judge", MESSAGES, PingAnswer)
    answer = await client.call_json("judge", MESSAGES, PingAnswer)
    assert answer.data == {"ok": False, "n": 0}  # the fake's minimal schema instance
    await client.close()


async def test_endpoint_without_json_schema_falls_back_to_json_mode(fake: FakeLLM) -> None:
    fake.supports_json_schema = False
    fake.rules.append(Rule(match="JSON schema", reply={"ok": True, "n": 9}))
    client, _ = provider(fake)
    answer = await client.call_json("judge", MESSAGES, PingAnswer)
    assert answer.data == {"ok": True, "n": 9}
    assert [e.status for e in fake.log] == [400, 200]
    await client.call_json("judge", [{"role": "user", "content": "other"}], PingAnswer)
    assert [e.status for e in fake.log] == [400, 200, 200]  # remembered: no second refusal
    await client.close()


async def test_budget_pauses_with_reason(fake: FakeLLM) -> None:
    client, _ = provider(fake, llm_budget_calls_per_minute=2)
    for n in range(2):
        await client.call_json("judge", [{"role": "user", "content": str(n)}], PingAnswer)
    with pytest.raises(BudgetExceeded, match="2 calls this minute"):
        await client.call_json("judge", [{"role": "user", "content": "3"}], PingAnswer)
    assert len(fake.log) == 2
    await client.close()


async def test_an_editors_budget_replaces_the_settings_for_its_window(fake: FakeLLM) -> None:
    settings = load_settings(llm_base_url=fake.base_url, llm_model="m",
                             llm_budget_calls_per_day=100)  # fmt: skip
    book = MemoryReceipts()
    client = LLMProvider(settings, book)
    service = client.routes["judge"].service
    book.budgets[service] = {"day": Limits(calls=1)}  # tighter than the settings' 100
    await client.call_json("judge", MESSAGES, PingAnswer)
    with pytest.raises(BudgetExceeded, match=r"1 calls this day \(limit 1\)"):
        await client.call_json("judge", [{"role": "user", "content": "2"}], PingAnswer)
    book.budgets[service] = {"day": Limits()}  # an empty budget lifts the day's limit
    await client.call_json("judge", [{"role": "user", "content": "3"}], PingAnswer)
    book.budgets["other.example"] = {"day": Limits(calls=0, tokens=1)}  # another service's
    await client.call_json("judge", [{"role": "user", "content": "4"}], PingAnswer)
    assert len(fake.log) == 3
    await client.close()


async def test_usage_and_cost_from_price_table(fake: FakeLLM) -> None:
    book = MemoryReceipts()
    settings = load_settings(llm_base_url=fake.base_url, llm_model="gpt-4o-mini")
    client = LLMProvider(settings, book)
    await client.call_json("judge", MESSAGES, PingAnswer)
    ((_, _, usage),) = book.usage
    assert usage.tokens_in > 0 and usage.tokens_out > 0
    assert usage.cost == pytest.approx((usage.tokens_in * 0.15 + usage.tokens_out * 0.6) / 1e6)
    await client.close()


async def test_embeddings(fake: FakeLLM) -> None:
    client, _ = provider(fake, embed_model="emb-1")
    vectors = await client.embed(["OpenAI o3-mini", "OpenAI o3-mini", "a recipe for soup"])
    assert len(vectors) == 3 and vectors[0] == vectors[1] != vectors[2]
    await client.close()


def test_per_step_routing_with_its_own_vendor() -> None:
    settings = load_settings(
        llm_base_url="http://a.example/v1", llm_model="main", llm_api_key="k1",
        llm_model_judge_second="other", llm_base_url_judge_second="http://b.example/v1",
        llm_api_key_judge_second="k2", llm_model_comment="writer",
    )  # fmt: skip
    routes = routes_from_settings(settings)
    assert (routes["judge"].model, routes["judge"].service) == ("main", "a.example")
    second = routes["judge_second"]
    assert (second.model, second.service, second.api_key) == ("other", "b.example", "k2")
    assert routes["comment"].model == "writer" and routes["comment"].api_key == "k1"
    assert "embed" not in routes  # no embeddings model named: the bundled model embeds


async def test_breaker_stops_calling_an_unreachable_endpoint() -> None:
    """A closed port: after `llm_breaker_failures` refused connections in a row, the calls
    waiting for a slot and the retries fail at once, send nothing and mark nothing held."""
    import asyncio
    import socket

    from newsdesk.editor.providers import ModelUnavailable

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    settings = load_settings(llm_base_url=base, llm_model="m", llm_concurrency=4,
                             llm_breaker_failures=3)  # fmt: skip
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    book = MemoryReceipts()
    client = LLMProvider(settings, book, sleep=sleep)
    asks = [[{"role": "user", "content": f"story {n}"}] for n in range(20)]
    outcomes = await asyncio.gather(
        *(client.call_json("judge", m, PingAnswer) for m in asks), return_exceptions=True
    )
    assert all(isinstance(o, ModelError) for o in outcomes)
    refused = [o for o in outcomes if isinstance(o, ModelUnavailable)]
    assert len(refused) >= 16  # only the calls holding one of the 4 slots ever tried
    reason = f"model endpoint unreachable: connection refused at {base}"
    assert str(refused[0]) == reason and client.unreachable() == {f"127.0.0.1:{port}": reason}
    assert len(book.data) <= 4 and all(r.status == "failed" for r in book.data.values())
    assert len(slept) <= 4  # no backoff ladder: 20 calls x 4 retries would sleep 80 times
    assert client.tally == {"failed": 20}
    await client.close()
