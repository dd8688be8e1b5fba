"""Cost and speed of the model editor against a naive pipeline, on the fake model.

Stories: the demo feeds plus the AI-industry corpus feeds (../shared/corpus), served over local
HTTP and run through collect and normalise (offline), then trimmed to a fixed sample with no
events and no verdicts. The fake OpenAI-compatible server answers every call after
1.5 s ± 0.5 s. Both pipelines run with concurrency 16 in the same run:

(a) ours: `run_once` with the model, as a desk runs it — grouping first (the model judges how
    each story relates to its candidates), then one judgement per story with the text capped,
    a second judgement only near a tier line the story can reach, one judgement and one
    commentary per multi-source event instead of one commentary per report, take and sharp
    only for p1 and featured, and receipts (a request already paid for is never paid again);
(b) naive: every story judged twice with its full text and commented whatever its tier, no
    receipts, no grouping first (coverage 1).

Prints one table: calls, input and output tokens per story and wall time for each, the ratio,
and (a)'s wall time against calls × mean latency ÷ 16, in total and for the judge and comment
steps alone (grouping asks its relation questions at once but places stories one by one, so
its share is shown apart). The header carries the load average: other work on the machine
stretches wall times.

Run: .venv/bin/python bench/editor.py [--stories 520] [--latency 1.5] [--jitter 0.5]
     [--corpus ../shared/corpus]   (an empty --corpus '' : the demo feeds alone)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, update

from newsdesk.config import load_settings
from newsdesk.dev.fake_llm import FakeLLM
from newsdesk.domain import Source, SourceTier, Tier
from newsdesk.editor.comment import CommentaryAnswer, comment_messages
from newsdesk.editor.judge import JudgementAnswer, judge_messages
from newsdesk.editor.providers import Limits, LLMProvider, ModelError, Receipt, Spend
from newsdesk.editor.rules import rules_judgement
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, DEMO_FEEDS, load_catalog
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
CORPUS_DIRS = ("Olshansk+rss-feeds", "0xSMW+rss-feeds")
CONCURRENCY = 16
STORIES = 520  # enough for the 500, small enough to run in a few minutes


class NoReceipts:
    """The naive pipeline's book: every call is sent, nothing is reused."""

    def __init__(self) -> None:
        self.n = 0

    async def open(self, *args: Any) -> Receipt:
        self.n += 1
        return Receipt(self.n, "send")

    async def settle(self, *args: Any) -> None:
        pass

    async def fail(self, *args: Any) -> None:
        pass

    async def spent(self, service: str, since: Any) -> Spend:
        return Spend()

    async def limits(self, service: str) -> dict[str, Limits]:
        return {}  # no editor's budget: the naive pipeline is never paused


def catalog(base: str, corpus_files: list[str]) -> list[Source]:
    sources = load_catalog(DEMO_CATALOG, demo_base=base)
    for name in corpus_files:
        sources.append(
            Source(
                id=f"corpus-{Path(name).stem}"[:100],
                name=Path(name).stem,
                tier=SourceTier.T1,
                url=f"{base}/{name}",
                group="vendor-official",
            )
        )
    return sources


def feed_dir(tmp: Path, corpus: Path | None) -> list[str]:
    """Demo feeds and corpus feeds in one served folder (a temporary copy, never the repo)."""
    for path in DEMO_FEEDS.iterdir():
        shutil.copy(path, tmp / path.name)
    names: list[str] = []
    for folder in CORPUS_DIRS if corpus else ():
        for path in sorted((corpus / folder).glob("*.xml")):
            name = f"{folder.split('+')[0]}-{path.name}"
            shutil.copy(path, tmp / name)
            names.append(name)
    return names


def tokens(log: list[Any], start: int) -> tuple[int, int, int]:
    entries = log[start:]
    return (len(entries), sum(e.tokens_in for e in entries), sum(e.tokens_out for e in entries))


class StepClock:
    """Progress that notes when each step starts, so grouping's wall time can be told apart."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    def start(self, stage: str, total: int) -> None:
        self.started.setdefault(stage, time.monotonic())

    def advance(self, stage: str, n: int = 1) -> None:
        pass


async def naive(settings: Any, policy: Any, stories: list[Any]) -> int:
    client = LLMProvider(settings, NoReceipts())
    limit = asyncio.Semaphore(CONCURRENCY)
    failed: list[str] = []

    async def one(item: Any, source: Source) -> None:
        async with limit:
            try:
                await calls(item, source)
            except ModelError:
                failed.append(item.identity_key)

    async def calls(item: Any, source: Source) -> None:
        for purpose, second in (("judge", False), ("judge_second", True)):
            messages = judge_messages(policy, item, source, 1, second)
            messages[1]["content"] = _full(messages[1]["content"], item)
            await client.call_json(purpose, messages, JudgementAnswer)
        judgement = rules_judgement(item, source, policy)  # its tier is irrelevant here
        judgement = judgement.__class__(**{**_fields(judgement), "tier": Tier.FEATURED})
        messages = comment_messages(policy, item, source, judgement, [])
        messages[1]["content"] = _full(messages[1]["content"], item)
        await client.call_json("comment", messages, CommentaryAnswer)

    await asyncio.gather(*(one(item, source) for _, item, source in stories))
    await client.close()
    return len(failed)


def _fields(judgement: Any) -> dict[str, Any]:
    return {name: getattr(judgement, name) for name in judgement.__dataclass_fields__}


def _full(fenced: str, item: Any) -> str:
    """The fenced story with the whole body instead of the capped one."""
    head, _, _ = fenced.partition("body:\n")
    rest = fenced.split("STORY>>>", 1)[1] if "STORY>>>" in fenced else ""
    body = item.body_text.replace("STORY>>>", "")
    return f"{head}body:\n{body}\nSTORY>>>{rest}"


async def main(latency: float, jitter: float, stories_wanted: int, corpus: Path | None) -> int:
    console = Console()
    if corpus is not None and not corpus.exists():
        console.print(f"corpus not found at {corpus}: pass --corpus DIR, or --corpus '' for "
                      "the demo feeds alone")  # fmt: skip
        return 2
    work = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    feeds = work / "feeds"
    feeds.mkdir()
    names = feed_dir(feeds, corpus)
    db = Database(f"sqlite:///{work / 'bench.db'}")
    upgrade(db)
    policy = load_policy()
    with DemoFeedServer(feeds) as base, FakeLLM(latency=latency, jitter=jitter) as fake:
        # Collect and normalise once (offline), then clear verdicts and events so both
        # pipelines start from the same ungrouped, unjudged stories.
        offline = load_settings(allow_private_urls=True, data_dir=work)
        await run_once(db, offline, policy, catalog=catalog(base, names), demo=True)
        await db.write(lambda c: (c.execute(update(t.items).values(judgement_id=None, tier=None)),
                                  c.execute(delete(t.judgements)), c.execute(delete(t.commentary)),
                                  c.execute(delete(t.event_members)),
                                  c.execute(delete(t.event_judgements)),
                                  c.execute(delete(t.events))))  # fmt: skip
        with db.read() as conn:
            stories = repo.items_to_judge(conn, limit=100_000)
        # Keep a fixed sample: all demo stories, then corpus stories in a stable order.
        stories.sort(key=lambda row: (row[2].id.startswith("corpus-"), row[0]))
        extra = [row[0] for row in stories[stories_wanted:]]
        stories = stories[:stories_wanted]
        if extra:
            await db.write(lambda c: c.execute(delete(t.items).where(t.items.c.id.in_(extra))))
        n = len(stories)
        console.print(f"{n} stories from {len(names)} corpus feeds and the demo feeds")

        settings = load_settings(
            allow_private_urls=True, data_dir=work, collect_enabled=False,
            llm_base_url=fake.base_url, llm_model="fake-editor", llm_concurrency=CONCURRENCY,
            llm_timeout_seconds=30,
        )  # fmt: skip
        start = len(fake.log)
        clock = StepClock()
        began = time.monotonic()
        ours = await run_once(db, settings, policy, demo=True, progress=clock)
        wall_a = time.monotonic() - began
        calls_a, in_a, out_a = tokens(fake.log, start)
        judging = clock.started.get("judge", began)
        wall_group = judging - began
        calls_group = sum(1 for e in fake.log[start:] if e.schema == "relation")
        # A rerun pays nothing: receipts (idempotence is part of the design, shown, not timed).
        await db.write(
            lambda c: (
                c.execute(update(t.items).values(judgement_id=None)),
                c.execute(update(t.events).values(judgement_id=None)),
            )
        )
        before = len(fake.log)
        await run_once(db, settings, policy, demo=True)
        rerun_calls = len(fake.log) - before

        start = len(fake.log)
        began = time.monotonic()
        naive_failed = await naive(settings, policy, stories)
        wall_b = time.monotonic() - began
        calls_b, in_b, out_b = tokens(fake.log, start)
    db.close()
    shutil.rmtree(work, ignore_errors=True)

    ideal = calls_a * latency / CONCURRENCY
    ideal_steps = (calls_a - calls_group) * latency / CONCURRENCY
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    table = Table(title=f"editor cost and speed: {n} stories, fake model {latency:g} s ± "
                  f"{jitter:g} s, concurrency {CONCURRENCY}, load average {load}")  # fmt: skip
    for column in ("", "(a) newsdesk", "(b) naive", "a / b"):
        table.add_column(column, justify="right")
    rows = (
        ("calls per story", calls_a / n, calls_b / n, "{:.2f}"),
        ("input tokens per story", in_a / n, in_b / n, "{:.0f}"),
        ("output tokens per story", out_a / n, out_b / n, "{:.0f}"),
        ("tokens per story (in + out)", (in_a + out_a) / n, (in_b + out_b) / n, "{:.0f}"),
        ("wall time (s)", wall_a, wall_b, "{:.1f}"),
    )
    for label, a, b, fmt in rows:
        table.add_row(label, fmt.format(a), fmt.format(b), f"{a / b:.2f}" if b else "-")
    table.add_row("(a) wall ÷ (calls × mean latency ÷ 16)", f"{wall_a / ideal:.2f}", "", "")
    table.add_row("(a) grouping: relation calls, wall (s)", f"{calls_group}, {wall_group:.1f}",
                  "", "")  # fmt: skip
    table.add_row("(a) judge + comment wall ÷ (their calls × mean latency ÷ 16)",
                  f"{(wall_a - wall_group) / ideal_steps:.2f}", "", "")  # fmt: skip
    table.add_row("(a) calls on an identical rerun", str(rerun_calls), "", "")
    console.print(table)
    console.print(f"(a) grouped {ours.grouped} into {ours.events_created} events; judged "
                  f"{ours.judged} stories and {ours.events_judged} multi-source events, second "
                  f"opinions {ours.second_opinions}, commented {ours.commented} (of which "
                  f"{ours.events_commented} events), failed {ours.judge_failed}; "
                  f"(b) stories failed {naive_failed}")  # fmt: skip
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.5)
    parser.add_argument("--jitter", type=float, default=0.5)
    parser.add_argument("--stories", type=int, default=STORIES, help="stories in the sample")
    parser.add_argument("--corpus", default=str(CORPUS),
                        help="the shared corpus folder; '' for the demo feeds alone")  # fmt: skip
    args = parser.parse_args()
    corpus = Path(args.corpus) if args.corpus else None
    sys.exit(asyncio.run(main(args.latency, args.jitter, args.stories, corpus)))
