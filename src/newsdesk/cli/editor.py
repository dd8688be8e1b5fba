"""Editor commands: llm ping, usage, policy show|check|versions, eval selection, dev fake-llm."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from newsdesk.cli import policy as policy_loop
from newsdesk.cli.common import UserError, friendly_errors, out, settings_for
from newsdesk.config import Settings
from newsdesk.policy.check import check_policy
from newsdesk.policy.loader import Policy, load_policy
from newsdesk.runner.app import open_database, policy_for

llm_app = typer.Typer(help="Check the language-model configuration.", no_args_is_help=True)
policy_app = typer.Typer(help="Inspect and check the editorial policy.", no_args_is_help=True)
eval_app = typer.Typer(help="Calibrate the editor on a gold set.", no_args_is_help=True)
dev_app = typer.Typer(help="Developer tools.", no_args_is_help=True)
app = typer.Typer()


def register(root: typer.Typer) -> None:
    policy_loop.register(policy_app, root)
    root.add_typer(llm_app, name="llm")
    root.add_typer(policy_app, name="policy")
    root.add_typer(eval_app, name="eval")
    root.add_typer(dev_app, name="dev")
    root.registered_commands += app.registered_commands


# ---- llm ping -----------------------------------------------------------------------------


@llm_app.command("ping")
def llm_ping() -> None:
    """Check each configured model route with one tiny call."""
    with friendly_errors():
        settings = settings_for()
        if not settings.llm_configured:
            raise UserError(
                "no model configured: set NEWSDESK_LLM_BASE_URL and NEWSDESK_LLM_MODEL "
                "(the rules editor judges until then)"
            )
        from newsdesk.editor.providers import LLMProvider, MemoryReceipts, ModelError

        async def ping() -> list[tuple[str, str, str, str]]:
            provider = LLMProvider(settings, MemoryReceipts())
            rows = []
            seen: set[tuple[str, str]] = set()
            try:
                for purpose, route in provider.routes.items():
                    if (route.base_url, route.model) in seen:
                        continue
                    seen.add((route.base_url, route.model))
                    started = datetime.now(UTC)
                    try:
                        if purpose == "embed":
                            await provider.embed(["ping"])
                        else:
                            await provider.complete_text(
                                purpose, [{"role": "user", "content": "Reply with: pong"}]
                            )
                        ms = (datetime.now(UTC) - started).total_seconds() * 1000
                        rows.append((purpose, route.model, route.service, f"ok, {ms:.0f} ms"))
                    except ModelError as exc:
                        rows.append((purpose, route.model, route.service, f"failed: {exc}"))
            finally:
                await provider.close()
            return rows

        rows = asyncio.run(ping())
        table = Table(title="newsdesk llm ping")
        for column in ("step", "model", "service", "result"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        out.print(table)
        if any(r[3].startswith("failed") for r in rows):
            raise typer.Exit(1)


# ---- usage --------------------------------------------------------------------------------

_SPAN = re.compile(r"^(\d+)([mhd])$")


def parse_since(value: str | None) -> datetime | None:
    """`30m`, `24h`, `7d` or an ISO date/time."""
    if not value:
        return None
    match = _SPAN.match(value.strip())
    if match:
        n, unit = int(match.group(1)), match.group(2)
        delta = {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}
        return datetime.now(UTC) - delta[unit]
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"--since {value!r}: use 30m, 24h, 7d or an ISO date") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command()
def usage(
    since: Annotated[
        str | None, typer.Option("--since", help="30m, 24h, 7d or an ISO date (default: all)")
    ] = None,
) -> None:
    """Model calls, tokens, latency and cost per service, step and model."""
    with friendly_errors():
        start = parse_since(since)
        settings = settings_for()
        db = open_database(settings)
        try:
            from newsdesk.publish.pictures import usage_per_day
            from newsdesk.store.editor import receipt_counts, usage_summary

            with db.read() as conn:
                rows = usage_summary(conn, start)
                receipts = receipt_counts(conn)
                per_day = usage_per_day(conn, datetime.now(UTC), settings.timezone)
        finally:
            db.close()
        title = "model usage" + (f" since {start:%Y-%m-%d %H:%M} UTC" if start else "")
        table = Table(title=title)
        for column in ("service", "step", "model", "calls", "tokens in", "tokens out",
                       "mean latency", "cost (USD)"):  # fmt: skip
            table.add_column(column, justify="right" if column[0] in "ctm" else "left")
        totals = [0, 0, 0, 0.0]
        for r in rows:
            cost = f"{r['cost']:.4f}" if r["priced"] else "unknown"
            table.add_row(r["service"], r["purpose"], r["model"], str(r["calls"]),
                          str(r["tokens_in"] or 0), str(r["tokens_out"] or 0),
                          f"{(r['latency_ms'] or 0):.0f} ms", cost)  # fmt: skip
            totals[0] += r["calls"]
            totals[1] += r["tokens_in"] or 0
            totals[2] += r["tokens_out"] or 0
            totals[3] += r["cost"] or 0.0
        table.add_row("total", "", "", str(totals[0]), str(totals[1]), str(totals[2]), "",
                      f"{totals[3]:.4f}", style="bold")  # fmt: skip
        out.print(table)
        held = receipts.get("unknown", 0) + receipts.get("pending", 0)
        out.print(f"receipts: {receipts.get('ok', 0)} answered, {held} of unknown outcome, "
                  f"{receipts.get('failed', 0) + receipts.get('invalid', 0)} failed")  # fmt: skip
        out.print(usage_chart(per_day))


BLOCKS = " ▁▂▃▄▅▆▇█"


def spark_text(values: tuple[float, ...], top: float, limit: float | None = None) -> Text:
    """One character per day, as high as the day's figure; red where it passed the budget."""
    line = Text()
    for v in values:
        level = 0 if not v else max(1, round(v / top * (len(BLOCKS) - 1))) if top else 0
        line.append(BLOCKS[level] if v else "·", style="red" if limit and v > limit else "cyan")
    return line


def usage_chart(per_day: Any) -> Table:
    """The same figures as /admin/usage draws: cost and tokens per day for 30 days, by step
    and model, one character a day (the first column is 30 days ago, the last today)."""
    last = per_day.cost.last
    table = Table(title=f"per day, the 30 days to {last:%Y-%m-%d} (oldest left)")
    for column in ("step", "model", "cost per day", "cost", "tokens per day", "tokens"):
        table.add_column(column, justify="right" if column in ("cost", "tokens") else "left")
    top_cost = max(per_day.cost.values) or 1.0
    top_tokens = max(per_day.tokens.values) or 1.0
    for step, model, cost, tokens in per_day.rows:
        table.add_row(step, model, spark_text(cost.values, top_cost), f"{cost.total:.4f}",
                      spark_text(tokens.values, top_tokens), f"{int(tokens.total):,}")  # fmt: skip
    cost_limit, token_limit = per_day.cost.limit, per_day.tokens.limit
    table.add_row("total", "", spark_text(per_day.cost.values, top_cost, cost_limit),
                  f"{per_day.cost.total:.4f}",
                  spark_text(per_day.tokens.values, top_tokens, token_limit),
                  f"{int(per_day.tokens.total):,}", style="bold")  # fmt: skip
    if cost_limit or token_limit:
        table.caption = "daily budget: " + ", ".join(
            x for x in (f"{cost_limit} USD" if cost_limit else "",
                        f"{int(token_limit):,} tokens" if token_limit else "") if x
        ) + " (days over it in red)"  # fmt: skip
    if not per_day.rows:
        table.caption = "no paid calls in 30 days"
    return table


# ---- policy -------------------------------------------------------------------------------

PolicyFile = Annotated[
    Path | None, typer.Argument(help="A policy Markdown file (default: the configured one).")
]


@policy_app.command("show")
def policy_show() -> None:
    """Print the active policy's version, path and numbers."""
    with friendly_errors():
        policy = _desk_policy(settings_for())
        out.print(f"policy {policy.version}  ({policy.path})", highlight=False)
        _print_numbers(policy.numbers, "")


def _desk_policy(settings: Settings) -> Policy:
    """The version the desk runs: the one editors activated (the policy file seeds it)."""
    from newsdesk.runner.policy import active_policy

    db = open_database(settings)
    try:
        return active_policy(db, settings)
    finally:
        db.close()


def _print_numbers(numbers: dict[str, object], prefix: str) -> None:
    for key, value in numbers.items():
        if isinstance(value, dict):
            _print_numbers(value, f"{prefix}{key}.")
        else:
            out.print(f"  {prefix}{key} = {value}", highlight=False)


@policy_app.command("check")
def policy_check(path: PolicyFile = None) -> None:
    """Check a policy file: front matter, every number in range. Exit 1 on problems."""
    with friendly_errors():
        from newsdesk.editor.propose import VOCABULARY

        policy = load_policy(path) if path else policy_for(settings_for())

        problems = check_policy(policy, VOCABULARY)
        if problems:
            for line in problems:
                out.print(f"[red]✗[/] {line}", highlight=False)
            out.print(f"policy {policy.version} has {len(problems)} problem(s)")
            raise typer.Exit(1)
        out.print(f"policy {policy.version} ({policy.path}) is valid", highlight=False)


# ---- eval selection -----------------------------------------------------------------------


@eval_app.command("selection")
def eval_selection(
    gold: Annotated[Path, typer.Option("--gold", help="Gold file (JSON Lines).")] = Path(
        "eval/selection.jsonl"
    ),
    split: Annotated[str, typer.Option("--split", help="dev, holdout or all.")] = "holdout",
    editor: Annotated[str, typer.Option("--editor", help="rules or llm.")] = "rules",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score the editor's select/reject decisions against a gold set."""
    with friendly_errors():
        from newsdesk.editor.calibrate import GoldError, evaluate, load_gold

        if split not in ("dev", "holdout", "all"):
            raise UserError("--split must be dev, holdout or all")
        if editor not in ("rules", "llm"):
            raise UserError("--editor must be rules or llm")
        settings = settings_for()
        policy = _desk_policy(settings)
        try:
            cases = load_gold(gold)
        except GoldError as exc:
            raise UserError(str(exc)) from None
        chosen = [c for c in cases if split == "all" or c.split == split]
        if not chosen:
            raise UserError(f"{gold} has no {split} cases")
        outcomes = asyncio.run(_judge_cases(settings, policy, chosen, editor))
        report = evaluate(outcomes, split, editor)
        if as_json:
            print(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
            return
        _print_report(report)


async def _judge_cases(settings, policy, cases, editor):  # type: ignore[no-untyped-def]
    from newsdesk.editor import rules_judgement
    from newsdesk.editor.calibrate import run_editor

    if editor == "rules":

        async def rules(case):  # type: ignore[no-untyped-def]
            return rules_judgement(case.item, case.source, policy, case.coverage)

        return await run_editor(cases, rules)
    if not settings.llm_configured:
        raise UserError("--editor llm needs NEWSDESK_LLM_BASE_URL and NEWSDESK_LLM_MODEL")
    from newsdesk.editor.judge import model_judgement
    from newsdesk.runner.editor import model_editor

    db = open_database(settings)
    client = model_editor(db, settings)
    if client is None:
        db.close()
        raise UserError("model calls are disabled (NEWSDESK_MODEL_CALLS_ENABLED=false)")
    limit = asyncio.Semaphore(settings.llm_concurrency)

    async def llm(case):  # type: ignore[no-untyped-def]
        async with limit:
            result = await model_judgement(client, case.item, case.source, policy, case.coverage)
            return result.judgement

    try:
        judged = await asyncio.gather(*(run_editor([c], llm) for c in cases))
    finally:
        await client.close()
        db.close()
    return [o for group in judged for o in group]


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    out.print(
        f"[bold]selection eval[/] — editor {report.editor}, split {report.split}: "
        f"{report.scored} scored of {report.cases} cases",
        highlight=False,
    )
    out.print(
        f"accuracy {report.accuracy:.3f}  precision {report.precision:.3f}  "
        f"recall {report.recall:.3f}  F1 {report.f1:.3f}",
        highlight=False,
    )
    sweep = Table(title="threshold sweep (select when importance ≥ threshold)")
    for column in ("threshold", "accuracy", "precision", "recall", "F1"):
        sweep.add_column(column, justify="right")
    for row in report.sweep:
        sweep.add_row(str(row["threshold"]), f"{row['accuracy']:.3f}", f"{row['precision']:.3f}",
                      f"{row['recall']:.3f}", f"{row['f1']:.3f}")  # fmt: skip
    out.print(sweep)
    confusion = Table(title="confusion by tier (rows: gold, columns: predicted)")
    confusion.add_column("gold")
    tiers = ("p1", "featured", "all", "excluded")
    for tier in tiers:
        confusion.add_column(tier, justify="right")
    for gold, row in sorted(report.confusion.items()):
        confusion.add_row(gold, *(str(row[t]) for t in tiers))
    out.print(confusion)
    out.print(f"[bold]wrong cases ({len(report.wrong)})[/]")
    for w in report.wrong:
        out.print(f"- {w['id']} [{w['gold']} → {w['predicted']}] {w['title']}", highlight=False)
        out.print(f"    {w['why']}", highlight=False)
    for e in report.errors:
        out.print(f"[red]- {e['id']} failed: {e['error']}[/]", highlight=False)


# ---- dev fake-llm -------------------------------------------------------------------------


@dev_app.command("fake-llm")
def dev_fake_llm(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8765,
    latency: Annotated[float, typer.Option("--latency", help="Seconds per answer.")] = 0.0,
    fault_rate: Annotated[
        float, typer.Option("--fault-rate", help="Share of calls that fail (0 to 1).")
    ] = 0.0,
) -> None:
    """Start the fake OpenAI-compatible model server (for offline demos and tests)."""
    with friendly_errors():
        from newsdesk.dev.fake_llm import serve

        if not 0 <= fault_rate <= 1:
            raise UserError("--fault-rate must be between 0 and 1")
        out.print(
            f"fake model on http://127.0.0.1:{port}/v1 — set NEWSDESK_LLM_BASE_URL to it and "
            "NEWSDESK_LLM_MODEL=fake-editor  (Ctrl-C stops it)",
            highlight=False,
        )
        try:
            serve(port, latency=latency, fault_rate=fault_rate)
        except OSError as exc:
            raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
        except KeyboardInterrupt:
            pass
