"""Grouping benchmark: 50,000 stories over 14 days, each new story grouped as it lands.

Stories are synthetic, derived from the demo feeds and the shared corpus: every demo story
becomes a template whose model names and numbers are replaced per cluster, so 2-5 sources
report each launch in English or Chinese, and corpus headlines fill the rest. Items are stored
in SQLite first; then each one is grouped the way the runner does it (index look-up, rules
relation, the membership write and event refresh through the single writer).

Ours: `CandidateIndex` (MinHash LSH + exact keys), per story, including the database write.
Baseline, measured in the same run: naive all-pairs, the rules relation against every grouped
story of the 14-day window, on a sample of the same stories (all-pairs for all 50,000 would
take hours), with the features ours computed, so both sides compare search and judging.
Memory: resident set size growth while grouping, read while the index and its features are
still alive. Embedding: CPU per story of the bundled model over a sample of the same stories
(title and lead, as the embedding step makes them), in batches of 64 against one per call.
Grouping here uses the text features only; the cost of finding candidates by meaning is
bench/search.py's "semantic top-10" row (one index search per story).
The header prints the date and load average: the machine is shared.

Usage: .venv/bin/python bench/events.py [--items 50000] [--baseline-sample 40]
       [--corpus ../shared/corpus]   (headlines of single stories; '' for none)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

from newsdesk.domain import GroupDecision, Item, Source, StoryRef
from newsdesk.events import CandidateIndex, FeatureCache, decide, rules_relation
from newsdesk.events.grouping import WINDOW
from newsdesk.store import events as store_events
from newsdesk.store import repo
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "newsdesk" / "sources" / "demo" / "feeds"
CORPUS = ROOT / ".." / "shared" / "corpus"
START = datetime(2026, 1, 1, tzinfo=UTC)
SYLLABLES = ["zen", "kai", "ora", "lum", "vex", "tor", "mira", "quon", "sol", "nyx", "ar", "eon"]
_MODEL = re.compile(r"\b[A-Z][A-Za-z]*-?\d+(?:\.\d+)?[A-Za-z-]*\b|\b[A-Z][a-z]+ \d(?:\.\d)?\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def texts(folder: Path, limit: int) -> list[tuple[str, str]]:
    out = []
    for path in sorted(folder.rglob("*.xml")):
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False)
        for e in parsed.entries:
            title = re.sub(r"\s+", " ", e.get("title", "")).strip()
            body = re.sub(r"<[^>]+>", " ", e.get("summary", ""))
            body = re.sub(r"\s+", " ", body).strip()[:600]
            if title:
                out.append((title, body))
        if len(out) >= limit:
            break
    return out[:limit]


def synthesize(
    n: int, corpus: Path | None = CORPUS, seed: int = 5
) -> list[tuple[str, str, str, datetime]]:
    """(source, title, body, time): clusters from demo templates, singles from the corpus."""
    rng = random.Random(seed)
    templates = texts(DEMO, 1000)
    fillers = texts(corpus, 20000) if corpus and corpus.is_dir() else []
    rng.shuffle(fillers)  # each corpus headline is used once: they are distinct stories
    if not templates:
        sys.exit("error: demo feeds not found; run from the repository")
    # Words that make each cluster its own story: in real news, different launches do not
    # share a template, so clusters draw their own topic words from the corpus vocabulary.
    vocab = sorted({w for t, b in templates + fillers for w in re.findall(r"[a-z]{5,}", b.lower())})
    span = WINDOW.total_seconds()
    rows: list[tuple[str, str, str, datetime]] = []
    cluster = 0
    while len(rows) < n:
        at = START + timedelta(seconds=rng.random() * span)
        if fillers and rng.random() < 0.35:
            title, body = fillers.pop()
            rows.append((f"src{rng.randrange(400)}", title, body, at))
            continue
        cluster += 1
        name = "".join(rng.choice(SYLLABLES) for _ in range(2)).title()
        model = f"{name}-{rng.randrange(1, 99)}"
        title, body = rng.choice(templates)
        number = str(rng.randrange(100, 99999))

        topic = rng.sample(vocab, 12)

        def swap(text: str, model: str = model, number: str = number) -> str:
            return _NUMBER.sub(number, _MODEL.sub(model, text), count=1)

        for k in range(rng.choice([1, 1, 2, 3, 5])):
            source = f"src{rng.randrange(400)}"
            when = at + timedelta(hours=rng.random() * 30 * k)
            words = rng.sample(topic, 9)
            # every report names the cluster's model, as launch coverage does
            rows.append((source, f"{model}: {swap(title)} {' '.join(words[:2])}",
                         f"{' '.join(words)} {swap(body)}", when))  # fmt: skip
    rows = rows[:n]
    rows.sort(key=lambda r: r[3])
    return rows


def store(db: Database, rows: list[tuple[str, str, str, datetime]]) -> None:
    def write(conn: object) -> None:
        sources = sorted({r[0] for r in rows})
        repo.upsert_sources(conn, [Source(id=s, name=s, url=f"https://{s}.example")
                                   for s in sources], START)  # fmt: skip
        for n, (source, title, body, at) in enumerate(rows):
            repo.save_item(
                conn,
                Item(identity_key=f"url:https://{source}.example/{n}", source_id=source,
                     url=f"https://{source}.example/{n}", title=title, body_text=body,
                     body_html="", language="en", published_at=at, filed_at=at,
                     first_seen_at=at, backfill=False, content_hash=str(n)),
            )  # fmt: skip

    asyncio.run(db.write(write))


async def group_all(
    db: Database,
) -> tuple[list[float], list[float], list[StoryRef], FeatureCache]:
    with db.read() as conn:
        pending = store_events.ungrouped_refs(conn)
    index = CandidateIndex()
    times, cpu = [], []
    placed = []
    for ref in pending:
        t0, c0 = time.perf_counter(), time.process_time()
        index.forget_before(ref.filed_at - WINDOW)  # as the runner does
        decision = await index.choose(ref)
        event_id = await db.write(
            lambda c, r=ref, d=decision: store_events.attach(c, r, d, r.filed_at)
        )
        relation = "lead" if decision.event_id is None else decision.relation
        placed_ref = replace(ref, event_id=event_id, relation=relation)
        index.add(placed_ref)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        placed.append(placed_ref)
    return times, cpu, placed, index.cache


def naive(
    placed: list[StoryRef], sample: int, cache: FeatureCache
) -> tuple[list[float], list[float]]:
    """All-pairs over the window for a sample of stories, with the features ours computed
    (features are cached in both, so the comparison is of candidate search and judging)."""
    for ref in placed:
        cache.get(ref)  # stories ours forgot, if any
    rng = random.Random(9)
    picks = sorted(rng.sample(range(len(placed) // 2, len(placed)), sample))
    times, cpu = [], []
    for i in picks:
        new = placed[i]
        t0, c0 = time.perf_counter(), time.process_time()
        fn = cache.get(new)
        judged = [
            (o, rules_relation(new, fn, o, cache.get(o)))
            for o in placed[:i]
            if new.filed_at - o.filed_at <= WINDOW and o.source_id != new.source_id
        ]
        decision: GroupDecision = decide(new, judged)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        del decision
    return times, cpu


def embedding_cost(rows: list[tuple[str, str, str, datetime]], sample: int) -> tuple[float, float]:
    """CPU ms per story to embed `sample` of the stories with the bundled model, as the
    embedding step does (title and lead, batches of 64, one BLAS thread), and one story per
    call (the baseline: what embedding each story as it lands would cost)."""
    from newsdesk.embed.base import story_text
    from newsdesk.embed.local import embed_texts

    rng = random.Random(5)
    picked = [story_text(title, body) for _, title, body, _ in rng.sample(rows, sample)]
    embed_texts(["load the model before timing"])
    c0 = time.process_time()
    for start in range(0, len(picked), 64):
        embed_texts(picked[start : start + 64])
    batched = (time.process_time() - c0) * 1000 / len(picked)
    c0 = time.process_time()
    for text in picked:
        embed_texts([text])
    single = (time.process_time() - c0) * 1000 / len(picked)
    return batched, single


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--baseline-sample", type=int, default=40)
    parser.add_argument("--corpus", default=str(CORPUS), help="feeds for single stories")
    parser.add_argument("--embed-sample", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = synthesize(args.items, Path(args.corpus) if args.corpus else None)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        upgrade(db)
        store(db, rows)
        before = rss_mb()
        ours, ours_cpu, placed, cache = asyncio.run(group_all(db))
        grown = rss_mb() - before
        with db.read() as conn:
            events = repo.count_rows(conn)["events"]
        db.close()
    base, base_cpu = naive(placed, args.baseline_sample, cache)
    batched, single = embedding_cost(rows, args.embed_sample)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"grouping {len(ours)} stories over 14 days into {events} events (SQLite, rules mode); "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load} (shared machine: "
          "wall times are distorted, CPU times less so)")  # fmt: skip
    print(f"{'measure':<32}{'ours (LSH index)':>18}{'naive all-pairs':>18}{'ratio':>10}")
    for label, a, b in (
        ("CPU ms per story, p50", statistics.median(ours_cpu), statistics.median(base_cpu)),
        ("CPU ms per story, p95", pct(ours_cpu, 0.95), pct(base_cpu, 0.95)),
        ("wall ms per story, p50", statistics.median(ours), statistics.median(base)),
        ("wall ms per story, p95", pct(ours, 0.95), pct(base, 0.95)),
    ):
        print(f"{label:<32}{a:>18.2f}{b:>18.2f}{b / a:>9.1f}x")
    print(f"{'RSS growth while grouping, MB':<32}{grown:>18.1f}{'-':>18}{'-':>10}")
    print(f"{'embedding CPU ms per story':<32}{batched:>18.2f}{single:>18.2f}"
          f"{single / batched:>9.1f}x")  # fmt: skip
    print(f"(naive: {len(base)} sampled stories from the second half of the window; ours: all "
          f"{len(ours)}, database write included; CPU time is this process's, wall time "
          "includes waiting for a shared CPU; target p95 <= 20 ms; embedding: "
          f"{args.embed_sample} stories with the bundled model, batches of 64 (ours) against "
          "one story per call (baseline column), in this process; whole run "
          f"{(time.perf_counter() - started) / 60:.1f} min)")  # fmt: skip


if __name__ == "__main__":
    main()
