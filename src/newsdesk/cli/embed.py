"""Embedding commands: `embed status`, `embed rebuild`, and `eval search` (lexical, semantic and
hybrid search side by side on a gold file)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from newsdesk.cli.common import UserError, friendly_errors, gold_lines, out, settings_for
from newsdesk.cli.events import _Bar
from newsdesk.runner.app import open_database
from newsdesk.store import vectors as store_vectors

embed_app = typer.Typer(help="Story vectors: status and rebuild.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluations against gold files.", no_args_is_help=True)


@embed_app.command("status")
def status() -> None:
    """Which embedder the desk uses, and how many stories have its vectors."""
    from newsdesk.runner.embed import current_model

    with friendly_errors():
        settings = settings_for()
        db = open_database(settings)
        try:
            with db.read() as conn:
                models = store_vectors.models(conn)
                current = current_model(settings)
                waiting = store_vectors.count_pending(conn, current[0]) if current else 0
        finally:
            db.close()
        table = Table(title="story vectors")
        for column in ("model", "dimensions", "stories", ""):
            table.add_column(column)
        for name, (dim, count) in sorted(models.items()):
            mark = "current" if current and name == current[0] else "unused (never compared)"
            table.add_row(name, str(dim), str(count), mark)
        out.print(table)
        if current is None:
            out.print("embedding is off (NEWSDESK_EMBED_ENABLED=false)")
        else:
            out.print(f"current embedder {current[0]}: {waiting} stories waiting")


@embed_app.command("rebuild")
def rebuild(
    keep_others: Annotated[
        bool, typer.Option("--keep-others", help="Keep other models' vectors (default: drop).")
    ] = False,
) -> None:
    """Embed every story the current embedder has not embedded (all of them after a change of
    model), with a progress bar; then drop other models' vectors. Safe to interrupt: a rerun
    goes on where it stopped."""
    from newsdesk.runner.cpu import CpuPool
    from newsdesk.runner.embed import (
        current_model,
        embed_pending,
        endpoint_embedder,
        local_embedder,
    )

    with friendly_errors():
        settings = settings_for()
        current = current_model(settings)
        if current is None:
            raise UserError("embedding is off: set NEWSDESK_EMBED_ENABLED=true first")
        if settings.embed_model and not settings.model_calls_enabled:
            raise UserError("model calls are off (NEWSDESK_MODEL_CALLS_ENABLED=false): the "
                            "embeddings endpoint cannot be called")  # fmt: skip
        db = open_database(settings)

        async def run(bar: _Bar) -> int:
            now = datetime.now(UTC)
            with db.read() as conn:
                total = store_vectors.count_pending(conn, current[0])
            if settings.embed_model:
                from newsdesk.editor.providers import LLMProvider
                from newsdesk.runner.editor import StoreReceipts

                provider = LLMProvider(settings, StoreReceipts(db))
                try:
                    return await embed_pending(
                        db, endpoint_embedder(settings, provider), now, limit=total,
                        batch=settings.embed_batch_size, progress=bar,
                    )  # fmt: skip
                finally:
                    await provider.close()
            async with CpuPool(warm_embedder=True) as pool:
                return await embed_pending(
                    db, local_embedder(pool), now, limit=total, batch=settings.embed_batch_size,
                    progress=bar, parallel=pool.workers,
                )  # fmt: skip

        try:
            with Progress(console=out, transient=True) as progress:
                done = asyncio.run(run(_Bar(progress)))
            dropped = 0
            if not keep_others:
                dropped = asyncio.run(
                    db.write(lambda c: store_vectors.prune_other_models(c, current[0]))
                )
        finally:
            db.close()
        out.print(f"{done} stories embedded with {current[0]}; {dropped} vectors of other "
                  f"models dropped")  # fmt: skip


# --- eval search -------------------------------------------------------------------------------


def load_queries(path: Path) -> list[dict[str, Any]]:
    cases = []
    for n, case in gold_lines(path):
        query, expected = case.get("query"), case.get("expected")
        if not isinstance(query, str) or not query.strip():
            raise UserError(f"{path}:{n}: a case needs a non-empty query")
        if (
            not isinstance(expected, list)
            or not expected
            or not all(isinstance(u, str) for u in expected)
        ):
            raise UserError(f"{path}:{n}: expected must be a non-empty list of story URLs")
        cases.append({"id": str(case.get("id", n)), "query": query, "expected": expected})
    if not cases:
        raise UserError(f"gold file {path} has no queries")
    return cases


def evaluate_search(conn: Any, cases: list[dict[str, Any]], k: int = 10) -> dict[str, Any]:
    """Recall@k and MRR of each mode over public stories, as the API ranks them."""
    from newsdesk.publish.read import PUBLIC_TIERS, list_cards
    from newsdesk.publish.search import MODES

    report: dict[str, Any] = {"queries": len(cases), "k": k, "modes": {}, "cases": []}
    per_case: dict[str, dict[str, Any]] = {c["id"]: {"id": c["id"], "query": c["query"]}
                                           for c in cases}  # fmt: skip
    for mode in MODES:
        recall = mrr = 0.0
        for case in cases:
            cards = list_cards(conn, tiers=PUBLIC_TIERS, q=case["query"], limit=200,
                               mode=mode).cards  # fmt: skip
            urls = [c["url"] for c in cards]
            wanted = set(case["expected"])
            found = len(wanted & set(urls[:k])) / len(wanted)
            first = next((n for n, u in enumerate(urls, 1) if u in wanted), None)
            recall += found
            mrr += 1 / first if first else 0.0
            per_case[case["id"]][mode] = first
        report["modes"][mode] = {
            f"recall@{k}": round(recall / len(cases), 4),
            "mrr": round(mrr / len(cases), 4),
        }
    report["cases"] = list(per_case.values())
    return report


@eval_app.command("search")
def eval_search(
    gold: Annotated[Path, typer.Option("--gold", help="JSON Lines: query and expected URLs.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Score search on the desk's database: recall@10 and MRR for lexical, semantic and
    hybrid ranking side by side (public stories, as /api/v1/search ranks them)."""
    with friendly_errors():
        cases = load_queries(gold)
        settings = settings_for()
        db = open_database(settings)
        try:
            with db.read() as conn:
                if not conn.execute(store_vectors_count()).scalar_one():
                    raise UserError("the desk has no stories yet: run `newsdesk run --once` first")
                result = evaluate_search(conn, cases)
        finally:
            db.close()
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
            return
        table = Table(title=f"search: {result['queries']} queries ({gold})")
        for column in ("mode", "recall@10", "MRR"):
            table.add_column(column, justify="left" if column == "mode" else "right")
        for mode, scores in result["modes"].items():
            table.add_row(mode, f"{scores['recall@10']:.3f}", f"{scores['mrr']:.3f}")
        out.print(table)
        for case in result["cases"]:
            ranks = ", ".join(f"{m} {case[m] or '-'}" for m in result["modes"])
            out.print(f"  {case['id']} first hit: {ranks}  {case['query'][:60]}", highlight=False)


def store_vectors_count() -> Any:
    from sqlalchemy import func, select

    from newsdesk.store import schema as t

    return select(func.count()).select_from(t.items)
