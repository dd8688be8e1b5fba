"""Tier shares of the rules editor before and after a change, on the demo desk and the corpus.

Both desks are built the way a desk builds itself: the feeds are served over local HTTP and
`run_once` collects, normalises and groups them (offline, rules editor, full text off). Then
every story is judged again in memory, with the coverage the desk found, whether it is a
secondary report (`repo.secondary_reports`) and, for a paper, the desk's earlier release of the
model its title names (`runner/editor.py: earlier_releases`), by two editors: *before* is the
code and shipped policy of a git revision (`--baseline REV`, judged in a subprocess that
imports that revision's `src/`), *ours* is this checkout with its shipped policy (or `--policy
FILE`). Both see exactly the same stories. Gold-set F1 (`eval/selection.jsonl`, every scored
case) is measured the same way in the same run.

The corpus desk is the AI-industry feeds in ../shared/corpus (Olshansk+rss-feeds and
0xSMW+rss-feeds), each named by its feed's own title (as a catalog names a source: "Anthropic
News" speaks for Anthropic); their source tiers are set by what each feed is (lab and company
blogs T1, media and individuals T2, Hacker News and Digg T3). Most of its feeds carry only a
title and a teaser, which a live desk's full-text step would replace by the page's text; offline
it cannot, so the table also gives the corpus's shares over the stories with a text of their own
(200 characters or more, the rules editor's short-body mark) and counts the teasers apart.

Prints one table: p1, featured, all and excluded shares (tiers are exclusive: featured does not
count p1) before and after, their ratio, gold F1 for each, and the o3-mini System Card's tier and
importance as the gold case and on the demo desk.

Run: .venv/bin/python bench/tiers.py --baseline REV [--policy FILE] [--corpus DIR]
(REV: a commit with the policy loop, e.g. the main branch before a change; `--corpus DIR` reads
every feed file under DIR instead of the two AI folders of the corpus)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from newsdesk.config import load_settings
from newsdesk.domain import Item, Source, SourceTier
from newsdesk.editor.calibrate import evaluate, load_gold, run_editor
from newsdesk.editor.rules import (
    SHORT_BODY,
    Release,
    RulesInput,
    compute_signals,
    rules_judgement,
)
from newsdesk.policy import Policy, is_follow_up, load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.editor import earlier_releases
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


@dataclass(frozen=True)
class Story:
    item: Item
    source: Source
    coverage: int
    secondary: bool
    released: Release | None = None  # a paper's model released earlier (earlier_releases)

    @property
    def has_text(self) -> bool:
        """A text of its own, not a feed's teaser (the rules editor's short-body mark)."""
        return compute_signals(RulesInput(self.item, self.source)).body_chars >= SHORT_BODY


def corpus_tier(stem: str) -> SourceTier:
    if any(name in stem for name in T3_FEEDS):
        return SourceTier.T3
    if any(name in stem for name in T2_FEEDS):
        return SourceTier.T2
    return SourceTier.T1


def feed_title(path: Path) -> str:
    """The feed's own title, as a catalog entry would name the source."""
    title = feedparser.parse(path.read_bytes()).feed.get("title", "")
    return " ".join(str(title).split()) or path.stem


def corpus_catalog(base: str, files: list[tuple[str, Path]]) -> list[Source]:
    group = {SourceTier.T1: "vendor-official", SourceTier.T2: "media", SourceTier.T3: "social"}
    sources = []
    for name, path in files:
        tier = corpus_tier(Path(name).stem)
        sources.append(
            Source(
                id=f"corpus-{Path(name).stem}"[:100],
                name=feed_title(path),
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


async def build_desk(work: Path, corpus: Path | None = None) -> list[Story]:
    """Collect and group one desk (the demo's, or the corpus's when given); return every story
    with its source, coverage and whether it is a secondary report."""
    feeds = work / "feeds"
    feeds.mkdir()
    files = corpus_files(corpus) if corpus is not None else []
    for name, path in files:
        shutil.copy(path, feeds / name)
    if corpus is None:
        for path in DEMO_FEEDS.iterdir():
            shutil.copy(path, feeds / path.name)
    db = Database(f"sqlite:///{work / 'desk.db'}")
    upgrade(db)
    settings = load_settings(allow_private_urls=True, data_dir=work, fulltext_enabled=False)
    with DemoFeedServer(feeds) as base:
        catalog = (
            corpus_catalog(base, files) if corpus else load_catalog(DEMO_CATALOG, demo_base=base)
        )
        await run_once(db, settings, load_policy(), catalog=catalog, demo=True)
    with db.read() as conn:
        ids = [row.id for row in conn.execute(select(t.items.c.id))]
        coverage = repo.coverage_counts(conn, ids)
        secondary = repo.secondary_reports(conn, ids)
        sources = {r.id: repo.source_from_row(r) for r in conn.execute(select(t.sources))}
        rows = conn.execute(select(t.items).order_by(t.items.c.id)).all()
        items = {r.id: repo.item_from_row(r) for r in rows}
        released = earlier_releases(conn, items.items())
        stories = [
            Story(items[r.id], sources[r.source_id], coverage[r.id], r.id in secondary,
                  released.get(r.id))
            for r in rows
        ]  # fmt: skip
    db.close()
    return stories


def judge_ours(stories: list[Story], policy: Policy) -> list[tuple[str, int]]:
    out = []
    for s in stories:
        j = rules_judgement(s.item, s.source, policy, s.coverage, secondary=s.secondary,
                            released=s.released)  # fmt: skip
        out.append((j.tier.value, j.importance))
    return out


async def gold_ours(policy: Policy) -> tuple[float, tuple[str, int]]:
    """F1 on every scored case of the shipped gold set, and the o3-mini gold case's verdict."""
    cases = load_gold(GOLD)

    async def judge(case: Any) -> Any:
        return rules_judgement(case.item, case.source, policy, case.coverage)

    ref = next(c for c in cases if c.item.title == REFERENCE)
    j = rules_judgement(ref.item, ref.source, policy, ref.coverage)
    return evaluate(await run_editor(cases, judge), "all", "rules").f1, (j.tier.value, j.importance)


# Judged in a subprocess that imports the baseline revision's src/: that revision's rules
# editor, decide_tier and shipped policy, on the stories built here (pickled). A revision from
# before secondary reports (or follow-up papers) existed never sees the flag: its
# rules_judgement has no such parameter, which is the point.
BASELINE_JUDGE = r"""
import asyncio, inspect, json, pickle, sys
from pathlib import Path
import newsdesk
from newsdesk.editor.calibrate import evaluate, load_gold, run_editor
from newsdesk.editor.rules import rules_judgement
from newsdesk.policy import load_policy

job = pickle.load(sys.stdin.buffer)
policy = load_policy()
knows_secondary = "secondary" in inspect.signature(rules_judgement).parameters
knows_released = "released" in inspect.signature(rules_judgement).parameters

def judge(item, source, coverage, secondary=False, released=None):
    extra = {"secondary": secondary} if knows_secondary else {}
    if knows_released and released:
        from newsdesk.editor.rules import Release
        extra["released"] = Release(*released)
    j = rules_judgement(item, source, policy, coverage, **extra)
    return [j.tier.value, j.importance]

out = {"src": newsdesk.__file__, "version": policy.version, "desks": {}}
for desk, stories in job["desks"].items():
    out["desks"][desk] = [judge(*s) for s in stories]
cases = load_gold(Path(job["gold"]))

async def one(case):
    return rules_judgement(case.item, case.source, policy, case.coverage)

out["f1"] = evaluate(asyncio.run(run_editor(cases, one)), "all", "rules").f1
ref = next(c for c in cases if c.item.title == job["reference"])
out["reference"] = judge(ref.item, ref.source, ref.coverage)
json.dump(out, sys.stdout)
"""


def judge_baseline(rev: str, desks: dict[str, list[Story]], work: Path) -> dict[str, Any]:
    """The baseline revision's verdicts on the same stories, and its gold F1."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=False
    )
    if archive.returncode:
        sys.exit(f"git archive {rev} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(work / "baseline", filter="data")
    src = work / "baseline" / "src"
    job = {
        "desks": {
            name: [
                (
                    s.item,
                    s.source,
                    s.coverage,
                    s.secondary,
                    (s.released.model, s.released.days) if s.released else None,
                )
                for s in stories
            ]
            for name, stories in desks.items()
        },
        "gold": str(GOLD),
        "reference": REFERENCE,
    }
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", BASELINE_JUDGE],
        input=pickle.dumps(job), capture_output=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"baseline {rev} could not judge:\n{done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    if not Path(result["src"]).is_relative_to(src):  # the checkout's package was imported
        sys.exit(f"baseline {rev} imported {result['src']}, not its own src/")
    return result


def counts(verdicts: list[tuple[str, int]], keep: list[bool] | None = None) -> Counter[str]:
    keep = keep or [True] * len(verdicts)
    return Counter(v[0] for v, k in zip(verdicts, keep, strict=True) if k)


def pct(c: Counter[str], tier: str) -> str:
    total = sum(c.values())
    return f"{c[tier]} ({100 * c[tier] / total:.1f}%)" if total else "-"


def ratio(a: Counter[str], b: Counter[str], tier: str) -> str:
    return f"{b[tier] / a[tier]:.2f}" if a[tier] else "-"


def reference_on(stories: list[Story], verdicts: list[tuple[str, int]]) -> str:
    found = [f"{v[0]} {v[1]}" for s, v in zip(stories, verdicts, strict=True)
             if s.item.title == REFERENCE]  # fmt: skip
    return found[0] if found else "-"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare to")
    parser.add_argument("--policy", type=Path, default=None, help="ours (default: shipped)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder of feed files")
    args = parser.parse_args()
    ours = load_policy(args.policy)
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
        base = judge_baseline(args.baseline, desks, Path(tmp))
    title = f"rules editor tiers: before {args.baseline} ({base['version']}) vs ours {ours.version}"
    table = Table(title=title)
    for column in ("", "before", "ours", "ours / before"):
        table.add_column(column, justify="right")
    for name, stories in desks.items():
        before = [tuple(v) for v in base["desks"][name]]
        after = judge_ours(stories, ours)
        views = [(f"{name}: ", None)]
        if name == "corpus":
            views.append(("corpus with text: ", [s.has_text for s in stories]))
        for label, keep in views:
            a, b = counts(before, keep), counts(after, keep)  # type: ignore[arg-type]
            for tier in TIERS:
                table.add_row(f"{label}{tier} of {sum(a.values())}", pct(a, tier), pct(b, tier),
                              ratio(a, b, tier))  # fmt: skip
        secondary = sum(s.secondary for s in stories)
        table.add_row(f"{name} secondary reports", "", str(secondary), "")
        follow_ups = sum(bool(s.released and is_follow_up(ours, s.released.days)) for s in stories)
        table.add_row(f"{name} follow-up papers", "", str(follow_ups), "")
        if name == "demo":
            table.add_row("o3-mini System Card (demo desk)", reference_on(stories, before),
                          reference_on(stories, after), "")  # fmt: skip
    f1_after, ref_after = await gold_ours(ours)
    table.add_row("o3-mini System Card (gold case)", " ".join(map(str, base["reference"])),
                  " ".join(map(str, ref_after)), "")  # fmt: skip
    f1_before = float(base["f1"])
    f1_ratio = f"{f1_after / f1_before:.2f}" if f1_before else "-"
    table.add_row("gold F1 (all scored cases)", f"{f1_before:.4f}", f"{f1_after:.4f}", f1_ratio)
    Console(width=110).print(table)


if __name__ == "__main__":
    asyncio.run(main())
