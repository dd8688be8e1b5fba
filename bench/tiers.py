"""Tier shares of the rules editor under two policies, on the demo desk and on the corpus.

Both desks are built the way a desk builds itself: the feeds are served over local HTTP and
`run_once` collects, normalises and groups them (offline, rules editor). Then every story is
judged again in memory under each policy with the coverage the desk found, so the two policies
see exactly the same stories. Gold-set F1 (`eval/selection.jsonl`, every scored case) is
measured in the same run.

The corpus desk is the AI-industry feeds in ../shared/corpus (Olshansk+rss-feeds and
0xSMW+rss-feeds); their source tiers are set by what each feed is (lab and company blogs T1,
media and individuals T2, Hacker News and Digg T3).

Prints one table: p1, featured, all and excluded shares for the baseline policy and ours, their
ratio, gold F1 for each, and the tier of the o3-mini System Card.

Run: .venv/bin/python bench/tiers.py --baseline FILE [--policy FILE] [--corpus DIR]
(the baseline is a policy file, e.g. the shipped one before a change: `git show REV:src/…`;
`--corpus DIR` reads every feed file under DIR instead of the two AI folders of the corpus)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from newsdesk.config import load_settings
from newsdesk.domain import Item, Source, SourceTier
from newsdesk.editor.calibrate import evaluate, load_gold, run_editor
from newsdesk.editor.rules import rules_judgement
from newsdesk.policy import Policy, load_policy
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
GOLD = ROOT / "eval" / "selection.jsonl"
TIERS = ("p1", "featured", "all", "excluded")
T3_FEEDS = ("hackernews", "digg")
T2_FEEDS = (
    "the_batch",
    "arenamag",
    "piratewires",
    "ai_first_podcast",
    "paulgraham",
    "chanderramesh",
    "blogsurgeai",
    "steve_jobs_archive",
)
REFERENCE = "OpenAI o3-mini System Card"


def corpus_tier(stem: str) -> SourceTier:
    if any(name in stem for name in T3_FEEDS):
        return SourceTier.T3
    if any(name in stem for name in T2_FEEDS):
        return SourceTier.T2
    return SourceTier.T1


def corpus_catalog(base: str, names: list[str]) -> list[Source]:
    group = {SourceTier.T1: "vendor-official", SourceTier.T2: "media", SourceTier.T3: "social"}
    sources = []
    for name in names:
        tier = corpus_tier(Path(name).stem)
        sources.append(
            Source(
                id=f"corpus-{Path(name).stem}"[:100],
                name=Path(name).stem,
                tier=tier,
                url=f"{base}/{name}",
                group=group[tier],
            )
        )
    return sources


def corpus_files(corpus: Path) -> list[tuple[str, Path]]:
    """(served name, file): the two AI folders of ../shared/corpus, else every feed under DIR."""
    if corpus == CORPUS:
        return [
            (f"{folder.split('+')[0]}-{path.name}", path)
            for folder in CORPUS_DIRS
            for path in sorted((CORPUS / folder).glob("*.xml"))
        ]
    found = sorted(p for p in corpus.rglob("*") if p.suffix in (".xml", ".json", ".atom"))
    return [(f"{i}-{p.name}", p) for i, p in enumerate(found)]


async def build_desk(work: Path, corpus: Path | None = None) -> list[tuple[Item, Source, int]]:
    """Collect and group one desk (the demo's, or the corpus's when given); return every story
    with its source and coverage."""
    feeds = work / "feeds"
    feeds.mkdir()
    names = []
    if corpus is not None:
        for name, path in corpus_files(corpus):
            shutil.copy(path, feeds / name)
            names.append(name)
    else:
        for path in DEMO_FEEDS.iterdir():
            shutil.copy(path, feeds / path.name)
    db = Database(f"sqlite:///{work / 'desk.db'}")
    upgrade(db)
    settings = load_settings(allow_private_urls=True, data_dir=work, fulltext_enabled=False)
    with DemoFeedServer(feeds) as base:
        catalog = (
            corpus_catalog(base, names) if corpus else load_catalog(DEMO_CATALOG, demo_base=base)
        )
        await run_once(db, settings, load_policy(), catalog=catalog, demo=True)
    with db.read() as conn:
        ids = [row.id for row in conn.execute(select(t.items.c.id))]
        coverage = repo.coverage_counts(conn, ids)
        sources = {r.id: repo.source_from_row(r) for r in conn.execute(select(t.sources))}
        rows = conn.execute(select(t.items)).all()
        stories = [(repo.item_from_row(r), sources[r.source_id], coverage[r.id]) for r in rows]
    db.close()
    return stories


def shares(stories: list[tuple[Item, Source, int]], policy: Policy) -> Counter[str]:
    counts: Counter[str] = Counter()
    for item, source, coverage in stories:
        counts[rules_judgement(item, source, policy, coverage).tier.value] += 1
    return counts


async def gold_f1(policy: Policy) -> float:
    """F1 on every scored case of the shipped gold set."""
    cases = load_gold(GOLD)

    async def judge(case: Any) -> Any:
        return rules_judgement(case.item, case.source, policy, case.coverage)

    return evaluate(await run_editor(cases, judge), "all", "rules").f1


def pct(counts: Counter[str], tier: str) -> str:
    total = sum(counts.values())
    return f"{counts[tier]} ({100 * counts[tier] / total:.1f}%)" if total else "-"


def ratio(a: Counter[str], b: Counter[str], tier: str) -> str:
    return f"{b[tier] / a[tier]:.2f}" if a[tier] else "-"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the policy to compare to")
    parser.add_argument("--policy", type=Path, default=None, help="ours (default: shipped)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder of feed files")
    args = parser.parse_args()
    baseline, ours = load_policy(args.baseline), load_policy(args.policy)
    if not args.corpus.exists():
        sys.exit(f"no corpus at {args.corpus}: pass --corpus DIR")
    with tempfile.TemporaryDirectory() as tmp:
        demo_dir, corpus_dir = Path(tmp, "demo"), Path(tmp, "corpus")
        demo_dir.mkdir()
        corpus_dir.mkdir()
        desks = {
            "demo": await build_desk(demo_dir),
            "corpus": await build_desk(corpus_dir, args.corpus),
        }
    table = Table(title=f"rules editor tiers: baseline {baseline.version} vs ours {ours.version}")
    for column in ("", "baseline", "ours", "ours / baseline"):
        table.add_column(column, justify="right")
    for name, stories in desks.items():
        before, after = shares(stories, baseline), shares(stories, ours)
        for tier in TIERS:
            table.add_row(
                f"{name}: {tier} of {len(stories)}",
                pct(before, tier),
                pct(after, tier),
                ratio(before, after, tier),
            )
    gold = {c.item.title: c for c in load_gold(GOLD)}[REFERENCE]
    refs = [rules_judgement(gold.item, gold.source, p, gold.coverage) for p in (baseline, ours)]
    table.add_row(
        "o3-mini System Card (gold case)", *(f"{j.tier.value} {j.importance}" for j in refs), ""
    )
    f1_before, f1_after = await gold_f1(baseline), await gold_f1(ours)
    f1_ratio = f"{f1_after / f1_before:.2f}" if f1_before else "-"
    table.add_row("gold F1 (all scored cases)", f"{f1_before:.4f}", f"{f1_after:.4f}", f1_ratio)
    Console(width=100).print(table)


if __name__ == "__main__":
    asyncio.run(main())
