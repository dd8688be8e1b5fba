"""Event commands: editors' merges and splits, a regroup, and the grouping evaluation."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from newsdesk.cli.common import UserError, friendly_errors, gold_lines, out, settings_for
from newsdesk.domain import StoryRef
from newsdesk.runner.app import open_database
from newsdesk.store import events as store_events

events_app = typer.Typer(help="Events: merge, split, regroup.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations against gold files.", no_args_is_help=True)


def _edit(action: Any) -> Any:
    db = open_database(settings_for())
    try:
        return asyncio.run(db.write(action))
    except store_events.EventError as exc:
        raise UserError(str(exc)) from None
    finally:
        db.close()


@events_app.command("merge")
def merge(
    keep: Annotated[int, typer.Argument(help="Event that stays.")],
    other: Annotated[int, typer.Argument(help="Event whose stories move into KEEP.")],
) -> None:
    """Merge event OTHER into KEEP; a later regroup never undoes it."""
    with friendly_errors():
        now = datetime.now(UTC)
        moved = _edit(lambda c: store_events.merge_events(c, keep, other, now))
        out.print(f"merged event {other} into {keep}: {moved} stories moved")


@events_app.command("split")
def split(
    event: Annotated[int, typer.Argument(help="Event the story is in.")],
    item: Annotated[int, typer.Argument(help="Story to take out into an event of its own.")],
) -> None:
    """Take story ITEM out of EVENT; a later regroup never puts it back."""
    with friendly_errors():
        now = datetime.now(UTC)
        new_id = _edit(lambda c: store_events.split_item(c, event, item, now))
        out.print(f"story {item} left event {event}; it is now event {new_id}")


@events_app.command("regroup")
def regroup(
    days: Annotated[
        int, typer.Option(help="Regroup stories filed in the last N days; 0 means all.")
    ] = 0,
) -> None:
    """Forget automatic grouping and group again; editors' merges and splits stay."""
    # grouping's MinHash index loads datasketch and scipy: only for the commands that group
    from newsdesk.runner.events import group_pending, refresh_heat

    with friendly_errors():
        if days < 0:
            raise UserError("--days must be 0 or more")
        db = open_database(settings_for())
        try:
            now = datetime.now(UTC)
            since = now - timedelta(days=days) if days else None
            reset = asyncio.run(db.write(lambda c: store_events.reset_grouping(c, since, now)))
            with Progress(console=out, transient=True) as bar:
                done = asyncio.run(group_pending(db, now, _Bar(bar)))
            asyncio.run(refresh_heat(db, now))
        finally:
            db.close()
        out.print(f"{reset} automatic memberships reset; {done.placed} stories placed, "
                  f"{done.created} new events")  # fmt: skip


class _Bar:
    def __init__(self, progress: Progress) -> None:
        self.progress, self.task = progress, None

    def start(self, stage: str, total: int) -> None:
        self.task = self.progress.add_task(stage, total=total)

    def advance(self, stage: str, n: int = 1) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)


# --- evaluation ----------------------------------------------------------------------------


def _item_ref(item: Any, number: int, where: str) -> StoryRef:
    if not isinstance(item, dict) or not item.get("title"):
        raise UserError(f"{where}: an item needs at least a title")
    raw = item.get("published_at")
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{where}: published_at {raw!r} is not an ISO date") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return StoryRef(
        item_id=number,
        event_id=number,
        source_id=str(item.get("source", "")),
        url=str(item.get("url", "")),
        title=str(item["title"]),
        text=str(item.get("body", ""))[:600],
        filed_at=when,
    )


def load_gold(path: Path) -> list[tuple[str, StoryRef, StoryRef, str]]:
    from newsdesk.events.grouping import RELATIONS

    cases = []
    for n, case in gold_lines(path):
        where = f"{path}:{n}"
        relation = case.get("relation")
        if relation not in RELATIONS:
            raise UserError(f"{where}: relation must be one of {', '.join(RELATIONS)}")
        a = _item_ref(case.get("a"), 2 * n, where)
        b = _item_ref(case.get("b"), 2 * n + 1, where)
        cases.append((str(case.get("id", n)), a, b, relation))
    if not cases:
        raise UserError(f"gold file {path} has no pairs")
    return cases


def gold_cosines(cases: list[tuple[str, StoryRef, StoryRef, str]]) -> list[float]:
    """Each pair's cosine with the bundled model, over the text the desk embeds."""
    from newsdesk.embed.base import story_text
    from newsdesk.embed.local import embed_texts

    firsts = embed_texts([story_text(a.title, a.text) for _, a, _, _ in cases])
    seconds = embed_texts([story_text(b.title, b.text) for _, _, b, _ in cases])
    return [float(x @ y) for x, y in zip(firsts, seconds, strict=True)]


def evaluate_rules(
    cases: list[tuple[str, StoryRef, StoryRef, str]], cosines: list[float] | None = None
) -> dict[str, Any]:
    from newsdesk.events import FeatureCache, rules_relation
    from newsdesk.events.evaluate import Outcome, report

    cache = FeatureCache()
    outcomes = []
    for n, (case_id, a, b, gold) in enumerate(cases):
        first, second = (a, b) if a.filed_at <= b.filed_at else (b, a)
        cosine = cosines[n] if cosines is not None else None
        rel = rules_relation(second, cache.get(second), first, cache.get(first), cosine)
        outcomes.append(Outcome(case_id, gold, rel.relation, rel.reasons))
    return report(outcomes)


@eval_app.command("grouping")
def eval_grouping(
    gold: Annotated[Path, typer.Option("--gold", help="JSON Lines of labelled pairs.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    meaning: Annotated[
        bool,
        typer.Option(
            "--meaning/--no-meaning",
            help="Use the bundled model's vectors beside the text features (the desk's "
            "default); --no-meaning scores the text features alone.",
        ),
    ] = True,
) -> None:
    """Score rules-mode grouping on labelled pairs: confusion matrix, per-relation and binary."""
    from newsdesk.events.grouping import RELATIONS

    with friendly_errors():
        cases = load_gold(gold)
        result = evaluate_rules(cases, gold_cosines(cases) if meaning else None)
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
            return
        matrix = Table(title=f"grouping: {result['pairs']} pairs (rows gold, columns predicted)")
        matrix.add_column("gold")
        for rel in RELATIONS:
            matrix.add_column(rel, justify="right")
        for rel in RELATIONS:
            matrix.add_row(rel, *(str(result["confusion"][rel][p]) for p in RELATIONS))
        out.print(matrix)
        scores = Table(title="scores")
        for col in ("relation", "precision", "recall", "f1", "support"):
            scores.add_column(col, justify="right" if col != "relation" else "left")
        rows = [*result["relations"].items(), ("binary (merge)", result["binary"])]
        for name, s in rows:
            scores.add_row(name, f"{s['precision']:.3f}", f"{s['recall']:.3f}",
                           f"{s['f1']:.3f}", str(s["support"]))  # fmt: skip
        out.print(scores)
        out.print(f"accuracy {result['accuracy']:.3f}; {len(result['errors'])} errors")
        for e in result["errors"]:
            out.print(f"  {e['id']}: gold {e['gold']}, predicted {e['predicted']}",
                      highlight=False)  # fmt: skip
