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

Then, in the same run, the cost of one episode (tests/fixtures/media/long: a 62-minute
interview, its show notes pointing into the transcript): one judge call and one comment call
with the show notes and (s) the transcript sample the editor sends (`editor/episode.py`),
(f) the transcript's first characters, as many as the sample holds, (w) the whole transcript.
The fake gives the same scripted answers to all three, so the difference is what is sent.
Printed: transcript characters, input tokens per call, tokens and cost per episode, and how
many of the five passages the show notes point to the judge was shown.

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
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, update

from newsdesk.collect.transcripts import parse_chapters, parse_transcript
from newsdesk.config import load_settings
from newsdesk.dev.fake_llm import FakeLLM, Rule
from newsdesk.domain import Item, Source, SourceTier, Tier, Transcript
from newsdesk.editor.comment import CommentaryAnswer, comment_messages
from newsdesk.editor.episode import (
    COMMENT_SAMPLE_CHARS,
    JUDGE_SAMPLE_CHARS,
    sample_transcript,
    weight,
)
from newsdesk.editor.judge import JudgementAnswer, judge_messages
from newsdesk.editor.providers import Limits, LLMProvider, ModelError, Receipt, Spend, price_for
from newsdesk.editor.rules import rules_judgement
from newsdesk.normalize import FreshnessRules
from newsdesk.normalize.stage import normalize_entry
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, DEMO_FEEDS, load_catalog
from newsdesk.sources.kinds import parse_bytes
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
CORPUS_DIRS = ("Olshansk+rss-feeds", "0xSMW+rss-feeds")
CONCURRENCY = 16
STORIES = 520  # enough for the 500, small enough to run in a few minutes
EPISODE = ROOT / "tests" / "fixtures" / "media" / "long"
# What the episode's show notes point to, as said in its transcript (make_ep21.py).
POINTED = (
    "we cut the price of long-context requests by 60 percent",  # "at 23:10"
    "prefill is about 90 percent of the GPU time",
    "The KV cache for a full window of Wren is about 320 GB",
    "built our own eval from 400 internal documents",
    "Needle-in-a-haystack tests mislead",
)
PRICED = "gpt-4o-mini"  # the cost row prices tokens as this model's (config.DEFAULT_PRICES)


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


def episode() -> tuple[Item, Source, Transcript]:
    """The fixture episode as the desk stores it: the item from its feed, the transcript."""
    url = "https://inference-hours.example/feed.xml"
    source = Source("inference-hours", "Inference Hours", url, tier=SourceTier.T2, group="podcast")
    now = datetime.now(UTC)
    feed = (
        (EPISODE / "feed.xml").read_bytes().replace(b"@BASE@", b"https://inference-hours.example")
    )
    feed = feed.replace(b"@DATE@", format_datetime(now - timedelta(hours=2), usegmt=True).encode())
    (entry,) = parse_bytes(source, feed, url).entries
    item = normalize_entry(entry, source, now, FreshnessRules())
    transcript = parse_transcript((EPISODE / "ep21.vtt").read_bytes(), "vtt")
    chapters = parse_chapters((EPISODE / "ep21.chapters.json").read_bytes())
    return item, source, Transcript(transcript.segments, chapters, "vtt")


def _with_body(messages: list[dict[str, str]], body: str) -> list[dict[str, str]]:
    """The prompt with the fenced body replaced (uncapped): what a naive editor would send."""
    user = messages[1]["content"]
    head, _, rest = user.partition("body:\n")
    tail = rest.split("\nSTORY>>>", 1)[1]
    return [messages[0], {"role": "user", "content": f"{head}body:\n{body}\nSTORY>>>{tail}"}]


def _episode_answers() -> list[Rule]:
    """The same faithful answers whatever was sent (a featured judgement and commentary)."""
    notes = ("Priya Raman leads inference at Larkspur AI. She explains why prefill, not "
             "decoding, dominates the bill of a context window of a million tokens. ")  # fmt: skip
    judged = {
        "hkr": {"hook": True, "knowledge": True, "resonance": True}, "importance": 80,
        "tags": {"capabilities": [], "entities": ["Larkspur AI"], "topics": []},
        "title_en": "What a million-token context really costs", "title_zh": "百万上下文的成本",
        "summary_en": notes, "summary_zh": notes, "why": "A practitioner's numbers.",
    }  # fmt: skip
    comment = {"take_en": "Prefill, not decoding, is the bill.", "take_zh": "账单在预填充。",
               "sharp_en": (notes + "I have not verified it. ") * 8, "sharp_zh": notes}  # fmt: skip
    return [Rule(schema="judgement", reply=judged), Rule(schema="commentary", reply=comment)]


async def episode_cost(fake: FakeLLM, settings: Any, policy: Any) -> dict[str, dict[str, Any]]:
    """One judge and one comment call per way of reading the episode; tokens from the fake."""
    item, source, transcript = episode()
    notes = item.body_text
    judgement = rules_judgement(item, source, policy)
    judgement = judgement.__class__(**{**_fields(judgement), "tier": Tier.FEATURED})
    judge_sample = sample_transcript(transcript, notes, JUDGE_SAMPLE_CHARS)
    comment_sample = sample_transcript(transcript, notes, COMMENT_SAMPLE_CHARS)
    plain_judge = judge_messages(policy, item, source, 1)
    plain_comment = comment_messages(policy, item, source, judgement, [])
    whole = transcript.text
    ways: dict[str, tuple[list[dict[str, str]], list[dict[str, str]], str]] = {
        "sample": (
            judge_messages(policy, item, source, 1, sample=judge_sample),
            comment_messages(policy, item, source, judgement, [], sample=comment_sample),
            judge_sample.text,
        ),
        "first": (
            _with_body(plain_judge, f"{notes}\n{whole[: judge_sample.weight]}"),
            _with_body(plain_comment, f"{notes}\n{whole[: comment_sample.weight]}"),
            whole[: judge_sample.weight],
        ),
        "whole": (
            _with_body(plain_judge, f"{notes}\n{whole}"),
            _with_body(plain_comment, f"{notes}\n{whole}"),
            whole,
        ),
    }
    fake.rules[:0] = _episode_answers()
    client = LLMProvider(settings, NoReceipts())
    out: dict[str, dict[str, Any]] = {}
    try:
        for name, (judge, comment, shown) in ways.items():  # one way at a time: its log rows
            start = len(fake.log)
            await client.call_json("judge", judge, JudgementAnswer)
            await client.call_json("comment", comment, CommentaryAnswer)
            (j, c) = fake.log[start:]
            tokens_in, tokens_out = j.tokens_in + c.tokens_in, j.tokens_out + c.tokens_out
            out[name] = {
                "chars": weight(shown), "judge_in": j.tokens_in, "comment_in": c.tokens_in,
                "tokens": tokens_in + tokens_out,
                "cost": price_for(settings, PRICED, tokens_in, tokens_out) or 0.0,
                "pointed": sum(p in shown for p in POINTED),
            }  # fmt: skip
    finally:
        await client.close()
        del fake.rules[:2]
    return out


def episode_table(cost: dict[str, dict[str, Any]], minutes: float) -> Table:
    table = Table(title=f"editor cost per episode (one judge and one comment call): a "
                  f"{minutes:.0f}-minute interview with show notes, chapters and a transcript "
                  "(tests/fixtures/media/long)")  # fmt: skip
    for column in ("", "(s) sample", "(f) first chars", "(w) whole", "s / f", "s / w"):
        table.add_column(column, justify="right")
    s, f, w = cost["sample"], cost["first"], cost["whole"]

    def row(label: str, get: Any, fmt: str = "{:.0f}") -> None:
        a, b, c = get(s), get(f), get(w)
        table.add_row(label, fmt.format(a), fmt.format(b), fmt.format(c),
                      f"{a / b:.2f}" if b else "-", f"{a / c:.2f}" if c else "-")  # fmt: skip

    row("transcript characters to the judge", lambda r: r["chars"])
    row("input tokens, judge call", lambda r: r["judge_in"])
    row("input tokens, comment call", lambda r: r["comment_in"])
    row("tokens per episode (in + out)", lambda r: r["tokens"])
    row(f"USD per episode ({PRICED} prices)", lambda r: r["cost"], "{:.5f}")
    table.add_row("notes' pointers shown to the judge",
                  *(f"{r['pointed']}/{len(POINTED)}" for r in (s, f, w)), "", "")  # fmt: skip
    return table


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
        per_episode = await episode_cost(fake, settings, policy)
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
    wide = Console(width=max(console.width, 100))  # its labels stay on one line
    wide.print(episode_table(per_episode, episode()[2].segments[-1].start / 60))
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
