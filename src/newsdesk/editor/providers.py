"""Model providers: any OpenAI-compatible endpoint, paid for once.

`LLMProvider` wraps the official `openai` SDK (`AsyncOpenAI` with a base URL) and adds what a
news desk needs around every paid call:

- per-step routing (judge, judge_second, comment, relate, report, embed), each step with its
  own model and optionally its own base URL and key;
- a concurrency limit per provider (base URL);
- retries with backoff on 429/5xx/refused connections, honouring Retry-After;
- structured output: `response_format` json_schema where the endpoint takes it, else JSON mode;
  either way the answer is validated with pydantic and a failure gets one repair call that
  quotes the validation errors;
- receipts (DESIGN.md invariant 2): every request is keyed by (service, purpose, model, hash
  of the exact request); the response is stored before it is used and reused on a retry, a
  rerun or a restart; a call whose outcome is unknown (timeout or dropped connection after
  sending) is held, not re-sent, for `llm_unknown_hold_minutes`;
- budgets (invariant 3): calls, tokens and money per minute/hour/day per service; past a limit
  the step pauses with a reason (`BudgetExceeded`) and the rest of the pipeline goes on;
- a circuit breaker per service: after `llm_breaker_failures` connection failures in a row its
  calls fail at once (`ModelUnavailable`, saying why) for `llm_breaker_seconds`, sending and
  holding nothing, so a pass with the endpoint down ends in seconds;
- usage per call (tokens, latency, cost from the price table in config).

The stage never touches the database: receipts and usage go through the `ReceiptBook`
protocol, which the runner implements with the store (and `MemoryReceipts` in tests).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import random
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from newsdesk.config import DEFAULT_PRICES, Settings

PURPOSES = ("judge", "judge_second", "comment", "relate", "report", "embed", "propose")
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}
MAX_RETRY_AFTER = 60.0
M = TypeVar("M", bound=BaseModel)


class ModelError(Exception):
    """A model call did not give a usable answer; the message is the reason stored."""


class CallHeld(ModelError):
    """An identical earlier call has an unknown outcome; it is not re-sent yet."""


class BudgetExceeded(ModelError):
    """A budget is spent: the step pauses until the window moves on."""


class InvalidOutput(ModelError):
    """The answer failed validation, and so did its one repair."""


class NotConfigured(ModelError):
    """No model is configured for this step."""


class ModelUnavailable(ModelError):
    """The endpoint could not be reached, again and again: its circuit breaker is open and its
    calls fail at once, sending nothing, until `llm_breaker_seconds` have passed."""


@dataclass
class Breaker:
    """Connection failures in a row of one service, and until when its calls are refused."""

    failures: int = 0
    reason: str = ""  # the last failure, said for a person: "connection refused at ..."
    open_until: float = 0.0  # time.monotonic(); 0 when closed


@dataclass(frozen=True)
class Route:
    purpose: str
    base_url: str
    api_key: str
    model: str

    @property
    def service(self) -> str:
        """Receipts and budgets are per service: the endpoint's host."""
        parts = urlsplit(self.base_url)
        return (parts.netloc or self.base_url)[:80]


def routes_from_settings(settings: Settings) -> dict[str, Route]:
    """Every step's route; a step without its own model uses the main one."""
    routes: dict[str, Route] = {}
    main_key = settings.llm_api_key.get_secret_value()
    for purpose in PURPOSES:
        if purpose == "embed":
            continue
        model = getattr(settings, f"llm_model_{purpose}", "") or settings.llm_model
        base = getattr(settings, f"llm_base_url_{purpose}", "") or settings.llm_base_url
        key_field = getattr(settings, f"llm_api_key_{purpose}", None)
        key = (key_field.get_secret_value() if key_field is not None else "") or main_key
        if base and model:
            routes[purpose] = Route(purpose, base.rstrip("/"), key, model)
    # Embeddings come from an endpoint only when its model is named (NEWSDESK_EMBED_MODEL);
    # otherwise the bundled offline model makes them (embed/local.py), with no route at all.
    base = settings.embed_base_url or settings.llm_base_url
    if settings.embed_model and base:
        key = settings.embed_api_key.get_secret_value() or main_key
        routes["embed"] = Route("embed", base.rstrip("/"), key, settings.embed_model)
    return routes


# ---- receipts, usage and budgets ------------------------------------------------------------


@dataclass
class Receipt:
    id: int
    status: str  # "ok": answer stored; "send": caller sends now; "held": unknown outcome
    response: dict[str, Any] | None = None
    held_until: datetime | None = None


@dataclass(frozen=True)
class CallUsage:
    tokens_in: int
    tokens_out: int
    latency_ms: int
    cost: float | None


@dataclass(frozen=True)
class Spend:
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0


@dataclass(frozen=True)
class Limits:
    """One budget window's limits; None (or 0) means no limit of that kind."""

    calls: int | None = None
    tokens: int | None = None
    cost: float | None = None


BUDGET_WINDOWS = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


class ReceiptBook(Protocol):
    """Where receipts and usage live; the runner implements it with the store.

    `open` marks a call sent (pending) when it answers "send"; the provider calls it only
    once it holds a concurrency slot. A book may also offer `peek(service, purpose, model,
    input_hash, hold) -> Receipt | None`, the same decision without marking anything, so
    answered and held calls never wait for a slot.
    """

    async def open(
        self, service: str, purpose: str, model: str, input_hash: str, hold: timedelta
    ) -> Receipt: ...

    async def settle(
        self, receipt_id: int, response: dict[str, Any], usage: CallUsage, key: tuple[str, str, str]
    ) -> None: ...

    async def fail(self, receipt_id: int, status: str, error: str) -> None: ...

    async def spent(self, service: str, since: datetime) -> Spend: ...

    async def limits(self, service: str) -> dict[str, Limits]:
        """Budgets editors set for `service` (admin pages), by window; they replace settings."""
        ...


@dataclass
class _MemRow:
    status: str
    response: dict[str, Any] | None
    sent_at: datetime
    error: str = ""


@dataclass
class MemoryReceipts:
    """A ReceiptBook in memory: tests, benchmarks and `newsdesk llm ping`."""

    rows: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    data: dict[int, _MemRow] = field(default_factory=dict)
    usage: list[tuple[str, datetime, CallUsage]] = field(default_factory=list)
    budgets: dict[str, dict[str, Limits]] = field(default_factory=dict)  # service -> window

    async def open(
        self, service: str, purpose: str, model: str, input_hash: str, hold: timedelta
    ) -> Receipt:
        now = datetime.now(UTC)
        key = (service, purpose, model, input_hash)
        rid = self.rows.get(key)
        if rid is None:
            rid = len(self.data) + 1
            self.rows[key] = rid
            self.data[rid] = _MemRow("pending", None, now)
            return Receipt(rid, "send")
        row = self.data[rid]
        decision = receipt_decision(row.status, row.sent_at, now, hold)
        if decision.status == "send":
            row.status, row.sent_at = "pending", now
        return Receipt(rid, decision.status, row.response, decision.held_until)

    async def peek(
        self, service: str, purpose: str, model: str, input_hash: str, hold: timedelta
    ) -> Receipt | None:
        rid = self.rows.get((service, purpose, model, input_hash))
        if rid is None:
            return None
        row = self.data[rid]
        decision = receipt_decision(row.status, row.sent_at, datetime.now(UTC), hold)
        return Receipt(rid, decision.status, row.response, decision.held_until)

    async def settle(
        self, receipt_id: int, response: dict[str, Any], usage: CallUsage, key: tuple[str, str, str]
    ) -> None:
        row = self.data[receipt_id]
        row.status, row.response = "ok", response
        self.usage.append((key[0], datetime.now(UTC), usage))

    async def fail(self, receipt_id: int, status: str, error: str) -> None:
        row = self.data[receipt_id]
        row.status, row.error = status, error

    async def spent(self, service: str, since: datetime) -> Spend:
        rows = [u for s, at, u in self.usage if s == service and at >= since]
        return Spend(
            calls=len(rows),
            tokens=sum(u.tokens_in + u.tokens_out for u in rows),
            cost=sum(u.cost or 0.0 for u in rows),
        )

    async def limits(self, service: str) -> dict[str, Limits]:
        return self.budgets.get(service, {})


def receipt_decision(status: str, sent_at: datetime, now: datetime, hold: timedelta) -> Receipt:
    """What to do with an existing receipt. Shared by every ReceiptBook so they agree.

    ok → reuse the stored answer. pending/unknown → the request may have been paid for: hold it
    until `hold` has passed since it was sent. failed/invalid → the provider said no or the
    answer was unusable: send again.
    """
    if status == "ok":
        return Receipt(0, "ok")
    if status in ("pending", "unknown") and now < sent_at + hold:
        return Receipt(0, "held", held_until=sent_at + hold)
    return Receipt(0, "send")


def price_for(settings: Settings, model: str, tokens_in: int, tokens_out: int) -> float | None:
    prices = {**DEFAULT_PRICES, **settings.llm_prices}
    price = prices.get(model)
    if price is None:
        return None
    return round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 8)


# ---- the client ---------------------------------------------------------------------------


@dataclass
class JsonAnswer:
    data: dict[str, Any]
    model: str
    receipt_id: int
    receipts: list[int]  # every receipt the answer rests on (repair included)


def request_hash(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class LLMProvider:
    """The one way newsdesk pays for a model call."""

    def __init__(
        self,
        settings: Settings,
        book: ReceiptBook,
        routes: dict[str, Route] | None = None,
        sleep: Any = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.book = book
        self.routes = routes if routes is not None else routes_from_settings(settings)
        self._sleep = sleep
        self._clients: dict[tuple[str, str], Any] = {}
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._json_mode: dict[str, bool] = {}  # service -> json_schema refused: use JSON mode
        self._inflight: dict[str, asyncio.Future[tuple[dict[str, Any], int]]] = {}
        self._rng = random.Random()
        self._budget_locks: dict[str, asyncio.Lock] = {}
        self._reserved: dict[str, int] = {}  # calls on the wire, not yet in usage
        self.breakers: dict[str, Breaker] = {}
        # what became of the calls asked of this provider: answered (a stored answer counts),
        # failed, held (outcome of an earlier identical call unknown), paused (budget)
        self.tally: Counter[str] = Counter()

    def route(self, purpose: str) -> Route:
        route = self.routes.get(purpose)
        if route is None:
            raise NotConfigured(f"no model configured for {purpose}")
        return route

    def _client(self, route: Route) -> Any:
        key = (route.base_url, route.api_key)
        if key not in self._clients:
            from openai import AsyncOpenAI

            # max_retries=0: retries are ours, so receipts, Retry-After and budgets hold.
            self._clients[key] = AsyncOpenAI(
                base_url=route.base_url,
                api_key=route.api_key or "none",
                max_retries=0,
                timeout=self.settings.llm_timeout_seconds,
            )
        return self._clients[key]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # ---- public calls ----------------------------------------------------------------------

    async def complete_json(
        self, purpose: str, messages: list[dict[str, str]], schema: type[BaseModel]
    ) -> dict[str, Any]:
        return (await self.call_json(purpose, messages, schema)).data

    async def call_json(
        self, purpose: str, messages: list[dict[str, str]], schema: type[M]
    ) -> JsonAnswer:
        """One structured answer, validated; one repair call when validation fails."""
        route = self.route(purpose)
        response, receipt_id = await self._structured(route, messages, schema)
        receipts = [receipt_id]
        content = _content(response)
        try:
            return JsonAnswer(_validate(schema, content), route.model, receipt_id, receipts)
        except ValueError as first:
            repair = [
                *messages,
                {"role": "assistant", "content": content[:8000]},
                {
                    "role": "user",
                    "content": "Your answer failed validation:\n"
                    f"{str(first)[:1500]}\n"
                    "Reply again with the complete corrected JSON object only.",
                },
            ]
            response2, receipt2 = await self._structured(route, repair, schema)
            receipts.append(receipt2)
            try:
                data = _validate(schema, _content(response2))
            except ValueError as second:
                # Both answers were paid for and unusable: mark them so the next pass asks
                # again instead of reusing an answer known to be bad.
                for rid in receipts:
                    await self.book.fail(rid, "invalid", str(second)[:500])
                raise InvalidOutput(
                    f"{route.model} answer failed validation twice: {str(second)[:200]}"
                ) from None
            return JsonAnswer(data, route.model, receipt2, receipts)

    async def complete_text(self, purpose: str, messages: list[dict[str, str]]) -> str:
        route = self.route(purpose)
        request = {"model": route.model, "messages": messages, "temperature": 0}
        response, _ = await self._paid(route, "chat", request)
        return _content(response)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        route = self.route("embed")
        request = {"model": route.model, "input": texts}
        response, _ = await self._paid(route, "embeddings", request)
        rows = sorted(response.get("data", []), key=lambda d: d.get("index", 0))
        return [list(map(float, d["embedding"])) for d in rows]

    # ---- structured output -----------------------------------------------------------------

    async def _structured(
        self, route: Route, messages: list[dict[str, str]], schema: type[BaseModel]
    ) -> tuple[dict[str, Any], int]:
        mode = self.settings.llm_structured
        use_schema = mode == "json_schema" or (
            mode == "auto" and not self._json_mode.get(route.service)
        )
        request: dict[str, Any] = {"model": route.model, "messages": messages, "temperature": 0}
        if use_schema:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": schema.__name__.removesuffix("Answer").lower() or "answer",
                    "schema": json.loads(_schema_json(schema)),
                },
            }
            try:
                return await self._paid(route, "chat", request)
            except _SchemaRefused:
                if mode == "json_schema":
                    raise ModelError(f"{route.model} refuses response_format json_schema") from None
                self._json_mode[route.service] = True
        request["response_format"] = {"type": "json_object"}
        request["messages"] = [
            *messages,
            {
                "role": "system",
                "content": "Answer with one JSON object that matches this JSON schema:\n"
                + _schema_json(schema),
            },
        ]
        return await self._paid(route, "chat", request)

    # ---- the paid call -------------------------------------------------------------------

    async def _paid(
        self, route: Route, kind: str, request: dict[str, Any]
    ) -> tuple[dict[str, Any], int]:
        input_hash = request_hash({"kind": kind, **request})
        running = self._inflight.get(input_hash)
        if running is not None:  # the same request is already on the wire: share it
            return await asyncio.shield(running)
        future: asyncio.Future[tuple[dict[str, Any], int]] = (
            asyncio.get_running_loop().create_future()
        )
        self._inflight[input_hash] = future
        try:
            result = await self._paid_once(route, kind, request, input_hash)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            if isinstance(exc, ModelError) and not isinstance(exc, _SchemaRefused):
                self.tally[_outcome(exc)] += 1
            raise
        else:
            future.set_result(result)
            self.tally["answered"] += 1
            return result
        finally:
            self._inflight.pop(input_hash, None)

    # ---- the circuit breaker -----------------------------------------------------------------

    def unreachable(self) -> dict[str, str]:
        """Services whose breaker opened, with the reason ("model endpoint unreachable:
        connection refused at https://api.example.com/v1")."""
        return {service: b.reason for service, b in self.breakers.items() if b.open_until}

    def _refuse_if_open(self, route: Route) -> None:
        breaker = self.breakers.get(route.service)
        if breaker is None or not breaker.open_until:
            return
        if time.monotonic() < breaker.open_until:
            raise ModelUnavailable(breaker.reason)
        # The pause is over: the next calls try again, and one more failure reopens it.
        breaker.open_until = 0.0
        breaker.failures = max(0, self.settings.llm_breaker_failures - 1)

    def _reached(self, route: Route) -> None:
        """The endpoint answered (whatever it said): its failures in a row start again."""
        breaker = self.breakers.get(route.service)
        if breaker is not None and not breaker.open_until:
            breaker.failures = 0

    def _unreached(self, route: Route, exc: Exception) -> None:
        """One more connection failure in a row; the Nth opens the breaker."""
        limit = self.settings.llm_breaker_failures
        breaker = self.breakers.setdefault(route.service, Breaker())
        breaker.failures += 1
        breaker.reason = f"model endpoint unreachable: {_why_unreached(exc)} at {route.base_url}"
        if limit and breaker.failures >= limit and not breaker.open_until:
            breaker.open_until = time.monotonic() + self.settings.llm_breaker_seconds

    async def _paid_once(
        self, route: Route, kind: str, request: dict[str, Any], input_hash: str
    ) -> tuple[dict[str, Any], int]:
        hold = timedelta(minutes=self.settings.llm_unknown_hold_minutes)
        key = (route.service, route.purpose, route.model, input_hash)
        # An answered or held call needs no slot: look first, marking nothing.
        peek = getattr(self.book, "peek", None)
        if peek is not None:
            seen = await peek(*key, hold)
            if seen is not None:
                answered = self._answered(seen)
                if answered is not None:
                    return answered
        self._refuse_if_open(route)  # an endpoint found unreachable is left alone a while
        limit = self._limits.setdefault(
            route.service, asyncio.Semaphore(self.settings.llm_concurrency)
        )
        # A book shared by several processes (the store on PostgreSQL) bounds the calls on the
        # wire for all of them together; the semaphore bounds this process.
        fleet = getattr(self.book, "slot", None)
        slot = fleet(route.service, self.settings.llm_concurrency) if fleet else nullcontext()
        async with limit, slot:
            self._refuse_if_open(route)  # it may have opened while this call waited
            # The receipt is marked sent only now, with a slot held: a crash can leave at most
            # `llm_concurrency` calls of unknown outcome, the ones really on the wire. (Marked
            # before waiting, every call queued behind the semaphore was held after a crash.)
            receipt = await self.book.open(*key, hold)
            answered = self._answered(receipt)
            if answered is not None:  # another task or process answered it meanwhile
                return answered
            # The editors' budgets are read before the lock: every call of the process waits
            # for the lock, and none needs to wait there for a read that takes no part in
            # the check-and-reserve it guards.
            set_in_admin = await self.book.limits(route.service)
            # Check and reserve under one lock, so concurrent calls cannot overshoot a budget.
            async with self._budget_locks.setdefault(route.service, asyncio.Lock()):
                try:
                    await self._check_budget(route.service, set_in_admin, receipt.id)
                except BudgetExceeded as exc:
                    await self.book.fail(receipt.id, "failed", str(exc))
                    raise
                self._reserved[route.service] = self._reserved.get(route.service, 0) + 1
            try:
                return await self._send_with_retries(route, kind, request, receipt.id)
            finally:
                self._reserved[route.service] -= 1

    @staticmethod
    def _answered(receipt: Receipt) -> tuple[dict[str, Any], int] | None:
        """The stored answer of an ok receipt; CallHeld for a held one; None: send it."""
        if receipt.status == "ok" and receipt.response is not None:
            return receipt.response, receipt.id
        if receipt.status == "held":
            until = receipt.held_until.strftime("%H:%M UTC") if receipt.held_until else "later"
            raise CallHeld(f"an identical call's outcome is unknown; held until {until}")
        return None

    async def _send_with_retries(
        self, route: Route, kind: str, request: dict[str, Any], receipt_id: int
    ) -> tuple[dict[str, Any], int]:
        import openai

        client = self._client(route)
        attempts = self.settings.llm_max_retries + 1
        for attempt in range(attempts):
            if attempt:
                try:  # the breaker may have opened during the backoff: send nothing more
                    self._refuse_if_open(route)
                except ModelUnavailable:
                    await self.book.fail(receipt_id, "failed", "endpoint unreachable: not sent")
                    raise
            started = time.monotonic()
            try:
                if kind == "embeddings":
                    result = await client.embeddings.create(**request)
                else:
                    result = await client.chat.completions.create(**request)
            except openai.APITimeoutError as exc:
                self._unreached(route, exc)
                await self.book.fail(receipt_id, "unknown", "timeout after sending")
                raise ModelError(
                    f"{route.model}: timeout after sending; outcome unknown, not re-sent for "
                    f"{self.settings.llm_unknown_hold_minutes:g} min"
                ) from None
            except openai.APIConnectionError as exc:
                self._unreached(route, exc)
                if not _never_sent(exc) or attempt == attempts - 1:
                    status = "failed" if _never_sent(exc) else "unknown"
                    await self.book.fail(receipt_id, status, f"connection error: {exc}")
                    reason = self.breakers[route.service].reason
                    raise ModelError(f"{route.model}: {reason} ({status})") from None
                await self._sleep(self._backoff(attempt, None))
                continue
            except openai.APIStatusError as exc:
                self._reached(route)
                text = _error_text(exc)
                wanted = (request.get("response_format") or {}).get("type")
                if exc.status_code in (400, 422) and wanted == "json_schema":
                    # Most endpoints that lack json_schema say so with a 400; try JSON mode.
                    await self.book.fail(receipt_id, "failed", text[:500])
                    raise _SchemaRefused(text) from None
                if exc.status_code in RETRYABLE_STATUS and attempt < attempts - 1:
                    await self._sleep(self._backoff(attempt, exc.response.headers))
                    continue
                await self.book.fail(receipt_id, "failed", f"HTTP {exc.status_code}: {text}"[:500])
                raise ModelError(f"{route.model}: HTTP {exc.status_code} {text[:160]}") from None
            self._reached(route)
            latency_ms = int((time.monotonic() - started) * 1000)
            response = result.model_dump(mode="json")
            usage = response.get("usage") or {}
            tokens_in = int(usage.get("prompt_tokens") or 0)
            tokens_out = int(usage.get("completion_tokens") or 0)
            cost = price_for(self.settings, route.model, tokens_in, tokens_out)
            # Stored before it is used: a crash after this line never pays again.
            await self.book.settle(
                receipt_id,
                response,
                CallUsage(tokens_in, tokens_out, latency_ms, cost),
                (route.service, route.purpose, route.model),
            )
            return response, receipt_id
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, headers: Any) -> float:
        retry_after = headers.get("retry-after") if headers is not None else None
        if retry_after:
            try:
                return min(float(retry_after), MAX_RETRY_AFTER)
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        return min(0.5 * 2**attempt, 30.0) * (0.5 + self._rng.random() / 2)

    async def _check_budget(
        self, service: str, set_in_admin: dict[str, Limits], receipt_id: int | None = None
    ) -> None:
        s = self.settings
        now = datetime.now(UTC)
        limits = {
            "minute": Limits(s.llm_budget_calls_per_minute),
            "hour": Limits(s.llm_budget_calls_per_hour, s.llm_budget_tokens_per_hour),
            "day": Limits(s.llm_budget_calls_per_day, s.llm_budget_tokens_per_day,
                          s.llm_budget_cost_per_day),
        }  # fmt: skip
        # An editor's budget in the admin pages replaces the settings for its window: the
        # person watching the bill has the last word, without a restart.
        limits |= set_in_admin
        for name, span in BUDGET_WINDOWS.items():
            calls, tokens, cost = (getattr(limits[name], f) for f in ("calls", "tokens", "cost"))
            if not (calls or tokens or cost):
                continue
            # Calls sent but not yet in usage: every process's, when the book can see them
            # (its receipts are marked before any check, so two processes never both pass).
            # Read before the usage: a call settling between the two reads is then counted
            # twice (a safe overcount), never missed (which let a 31st call through).
            fleet = getattr(self.book, "on_the_wire", None)
            wire = (await fleet(service, now - span, receipt_id) if fleet is not None
                    else self._reserved.get(service, 0))  # fmt: skip
            spent = await self.book.spent(service, now - span)
            spent = Spend(spent.calls + wire, spent.tokens, spent.cost)
            if calls and spent.calls >= calls:
                raise BudgetExceeded(f"budget: {service} made {spent.calls} calls this {name} "
                                     f"(limit {calls}); model steps paused")  # fmt: skip
            if tokens and spent.tokens >= tokens:
                raise BudgetExceeded(f"budget: {service} used {spent.tokens} tokens this {name} "
                                     f"(limit {tokens}); model steps paused")  # fmt: skip
            if cost and spent.cost >= cost:
                raise BudgetExceeded(f"budget: {service} spent ${spent.cost:.2f} this {name} "
                                     f"(limit ${cost:.2f}); model steps paused")  # fmt: skip


@functools.lru_cache(maxsize=64)
def _schema_json(schema: type[BaseModel]) -> str:
    """An answer schema as JSON, made once per class: pydantic builds it anew on every call
    (about a millisecond of CPU, for every model call). Each request gets its own copy."""
    return json.dumps(schema.model_json_schema(), ensure_ascii=False)


class _SchemaRefused(ModelError):
    """The endpoint does not take response_format json_schema."""


def _never_sent(exc: Exception) -> bool:
    """A refused connection never reached the server; anything else may have."""
    cause = exc.__cause__
    return cause is not None and type(cause).__name__ in ("ConnectError", "ConnectTimeout")


def _outcome(exc: ModelError) -> str:
    if isinstance(exc, CallHeld):
        return "held"
    return "paused" if isinstance(exc, BudgetExceeded) else "failed"


def _why_unreached(exc: Exception) -> str:
    """A connection failure in a few words: what an operator checks first."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "no answer in time"
    cause = exc.__cause__
    chain, link = [], cause
    while link is not None and len(chain) < 10:  # httpx wraps anyio's OSError wrapping errno's
        chain.append(link)
        link = link.__cause__ or link.__context__
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    text = " ".join(str(e) for e in chain or [exc]).lower()
    if "refused" in text:
        return "connection refused"
    if type(cause).__name__ == "ConnectTimeout":
        return "connection timed out"
    if any(w in text for w in ("name or service", "nodename", "name resolution", "getaddrinfo")):
        return "host name not found"
    if type(cause).__name__ == "ConnectError":
        return f"cannot connect ({str(cause)[:80]})"
    return f"connection lost ({str(cause or exc)[:80]})"


def _error_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message", inner))
        return str(inner)
    return str(getattr(exc, "message", exc))


def _content(response: dict[str, Any]) -> str:
    choices = response.get("choices") or [{}]
    return str((choices[0].get("message") or {}).get("content") or "")


def _validate(schema: type[BaseModel], content: str) -> dict[str, Any]:
    text = content.strip()
    if text.startswith("```"):  # some endpoints fence JSON mode answers
        text = text.strip("`").removeprefix("json").strip()
    try:
        return schema.model_validate_json(text).model_dump()
    except ValidationError as exc:
        # Some endpoints wrap the object in prose: take the outermost braces, once.
        start, end = text.find("{"), text.rfind("}")
        if 0 < start < end or (start == 0 and end < len(text) - 1):
            try:
                return schema.model_validate_json(text[start : end + 1]).model_dump()
            except ValidationError:
                pass
        raise ValueError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors()[:12]:
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        lines.append(f"- {where}: {error['msg']}")
    return "\n".join(lines)
