"""The policy loop's commands: policy propose|preview|activate|versions, feedback
import|export."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from newsdesk.cli.common import UserError, err, friendly_errors, out, settings_for
from newsdesk.runner.app import open_database

feedback_app = typer.Typer(help="Editors' votes as data: import and export.", no_args_is_help=True)

EditorOption = Annotated[
    str, typer.Option("--editor", help="Who does this (default: the system user).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only votes since: 30d, 12h or an ISO date.")
]


def _editor(name: str) -> str:
    return name.strip() or getpass.getuser()


def parse_since(value: str | None) -> datetime | None:
    """'30d', '12h' or an ISO date (UTC when no zone is given)."""
    from datetime import timedelta

    if not value:
        return None
    text = value.strip()
    if text[:-1].isdigit() and text[-1:] in ("d", "h"):
        unit = "days" if text[-1] == "d" else "hours"
        return datetime.now(UTC) - timedelta(**{unit: int(text[:-1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {value!r}: use 30d, 12h or an ISO date like 2025-01-31") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _loop_errors() -> tuple[type[Exception], ...]:
    from newsdesk.editor.propose import ProposalRefused
    from newsdesk.runner.policy import PolicyLoopError

    return (ProposalRefused, PolicyLoopError)


def register(policy_app: typer.Typer, root: typer.Typer) -> None:
    policy_app.command("propose")(policy_propose)
    policy_app.command("preview")(policy_preview)
    policy_app.command("activate")(policy_activate)
    policy_app.command("versions")(policy_versions)
    root.add_typer(feedback_app, name="feedback")
    root.command("rejudge")(rejudge_command)


# ---- policy propose -------------------------------------------------------------------------


def policy_propose(
    since: SinceOption = None,
    as_json: JsonOption = False,
    editor: EditorOption = "",
    model: Annotated[
        bool,
        typer.Option(
            "--model/--no-model",
            help="Let the configured model write the proposal (default: when one is configured).",
        ),
    ] = True,
) -> None:
    """Write a draft policy version from the editors' votes and print its id.

    Without a model, a coordinate search over the front matter's numbers that best fits the
    votes while gold-set F1 stays within 0.02; with one, the model writes the whole policy and
    code checks the caps. Refused (exit 1) with fewer than 5 votes or when the caps break."""
    with friendly_errors():
        settings = settings_for()
        db = open_database(settings)
        try:
            result = asyncio.run(_propose(db, settings, parse_since(since), _editor(editor), model))
        except _loop_errors() as exc:
            err.print(f"[bold red]refused:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        finally:
            db.close()
    if as_json:
        print(json.dumps(result, ensure_ascii=False, default=str))
        return
    out.print(f"draft version {result['number']}: {result['draft']}", highlight=False)
    if not result["changes"]:
        out.print("no number changed: the draft is the current policy", highlight=False)
    for change in result["changes"]:
        out.print(f"  {change['number']}: {change['from']} → {change['to']}", highlight=False)
    fit = result["fit"]
    out.print(
        f"votes agreed with: {fit['agreed_before']} → {fit['agreed_after']} of {fit['votes']}; "
        f"gold F1 {result['gold']['current_f1']:.3f} → {result['gold']['draft_f1']:.3f}",
        highlight=False,
    )
    for note in result["did_not_change"]:
        out.print(
            f"  not acted on: {note.get('title') or note.get('feedback')}: {note['why']}",
            highlight=False,
        )
    out.print(f"next: newsdesk policy preview {result['number']}", highlight=False)


async def _propose(db: Any, settings: Any, since: Any, editor: str, model: bool) -> Any:
    from newsdesk.runner.editor import model_editor
    from newsdesk.runner.policy import propose

    client = model_editor(db, settings) if model else None
    try:
        return await propose(db, settings, since, editor, client)
    finally:
        if client is not None:
            await client.close()


# ---- policy preview -------------------------------------------------------------------------


def policy_preview(
    draft: Annotated[str, typer.Argument(help="Version number or hash (prefix) of the draft.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Stories of the last N days.")] = 14,
    gold: Annotated[
        Path | None, typer.Option("--gold", help="Gold file (default: eval/selection.jsonl).")
    ] = None,
    as_json: JsonOption = False,
    model: Annotated[
        bool,
        typer.Option("--model", help="Judge with the configured model (costs calls; asks first)."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before paying for calls.")] = False,
) -> None:
    """Re-judge recent stories under a draft and show what moves: p1 and featured entries and
    exits, agreement with the votes, gold precision/recall/F1 side by side. The rules editor
    by default (free); `--model` prints the estimated calls and cost first. A draft that
    lowers gold F1 by more than 0.02 is marked."""
    with friendly_errors():
        from newsdesk.runner.policy import preview_version

        settings = settings_for()
        db = open_database(settings)
        try:
            if model:
                figures = _model_preview(db, settings, draft, days, gold, yes)
            else:
                figures = preview_version(db, settings, draft, days, gold)
        except _loop_errors() as exc:
            raise UserError(str(exc)) from None
        finally:
            db.close()
    if as_json:
        print(json.dumps(figures, ensure_ascii=False, default=str))
        return
    _print_preview(figures)


def _model_preview(
    db: Any, settings: Any, draft: str, days: int, gold: Path | None, yes: bool
) -> dict[str, Any]:
    from newsdesk.runner.editor import model_editor
    from newsdesk.runner.policy import preview_estimate, preview_with_model, version_row

    if not settings.llm_configured:
        raise UserError("--model needs NEWSDESK_LLM_BASE_URL and NEWSDESK_LLM_MODEL")
    version_row(db, draft)  # an unknown version is refused before anything is estimated
    estimate = preview_estimate(db, settings, days, gold)
    cost = estimate["cost"]
    err.print(
        f"{estimate['stories']} stories and {estimate['gold_cases']} gold cases with "
        f"{estimate['editor']}: about {estimate['calls']} calls, {estimate['tokens']:,} tokens, "
        + (f"${cost:.2f}" if cost is not None else "cost unknown (no price for the model)")
        + " (answers already paid for are reused)",
        highlight=False,
    )
    if not yes and not typer.confirm("pay for them?", err=True):
        raise typer.Exit(1)
    client = model_editor(db, settings)
    if client is None:
        raise UserError("model calls are disabled (NEWSDESK_MODEL_CALLS_ENABLED=false)")

    async def run() -> dict[str, Any]:
        try:
            return await preview_with_model(db, settings, draft, client, days, gold)
        finally:
            await client.close()

    return asyncio.run(run())


def _print_preview(f: dict[str, Any]) -> None:
    out.print(
        f"preview ({f.get('editor', 'rules')} editor) of version {f['number']} "
        f"({f['draft_version']}) against the active "
        f"{f['current_version']}: {f['stories']} stories of the last {f['days']} days",
        highlight=False,
    )
    gold = Table(title=f"gold set ({f['gold_cases']} scored cases)")
    for column in ("", "precision", "recall", "F1"):
        gold.add_column(column, justify="right")
    for name in ("current", "draft"):
        g = f[name]
        gold.add_row(name, f"{g['precision']:.3f}", f"{g['recall']:.3f}", f"{g['f1']:.3f}")
    out.print(gold)
    if f["needs_confirmation"]:
        out.print(
            f"[bold red]gold F1 drops by {f['f1_drop']:.3f} (more than 0.02): activating "
            "needs a typed confirmation[/]",
            highlight=False,
        )
    a = f["votes_agreement"]
    out.print(
        f"votes agreed with: current {a['current']} / draft {a['draft']} of {a['votes']}"
        f" ({a['disputed']} disputed stories not counted)",
        highlight=False,
    )
    tiers = f["tiers"]
    out.print(
        "tiers: "
        + ", ".join(f"{k} {tiers['current'][k]}→{tiers['draft'][k]}" for k in tiers["current"]),
        highlight=False,
    )
    for label, rows, total in (
        ("enter", f["enter"], f["entered"]),
        ("leave", f["leave"], f["left"]),
    ):
        out.print(f"[bold]{label} p1/featured: {total}[/]")
        for r in rows:
            out.print(
                f"  {r['from']} {r['importance_from']} → {r['to']} {r['importance_to']}  "
                f"{r['title']}",
                highlight=False,
            )


# ---- policy activate ------------------------------------------------------------------------


def policy_activate(
    version: Annotated[str, typer.Argument(help="Version number or hash (prefix).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    editor: EditorOption = "",
    confirm: Annotated[
        str,
        typer.Option("--confirm", help="The version hash, when its preview lowered gold F1."),
    ] = "",
) -> None:
    """Make a version the desk's policy (new stories use it; roll back by activating an older
    one). Records who, when, the diff, the preview's figures and the votes it answers."""
    with friendly_errors():
        from newsdesk.runner.policy import activate_version, version_row

        settings = settings_for()
        db = open_database(settings)
        try:
            row = version_row(db, version)
            preview = row.preview or {}
            if preview.get("needs_confirmation") and not confirm:
                if not sys.stdin.isatty():
                    raise UserError(
                        f"version {row.number} lowers gold F1 by {preview['f1_drop']:.3f}; "
                        f"pass --confirm {row.version}"
                    )
                confirm = typer.prompt(
                    f"gold F1 drops by {preview['f1_drop']:.3f}; type {row.version} to activate"
                )
            elif not yes and not typer.confirm(f"activate version {row.number} ({row.version})?"):
                raise typer.Exit(1)
            if not preview:
                err.print(
                    "note: this version has no preview; `newsdesk policy preview` "
                    "measures it first",
                    highlight=False,
                )
            done = activate_version(db, settings, version, _editor(editor), confirm)
        except _loop_errors() as exc:
            raise UserError(str(exc)) from None
        finally:
            db.close()
    out.print(
        f"active: version {done['number']} ({done['version']}); "
        f"{len(done['answered'])} vote(s) answered",
        highlight=False,
    )


def policy_versions() -> None:
    """Every policy version: number, hash, origin, active, judgements made with it."""
    with friendly_errors():
        from newsdesk.store import policy as store
        from newsdesk.store.editor import policy_versions as counts

        db = open_database(settings_for())
        try:
            with db.read() as conn:
                rows = store.versions(conn)
                judged = {r["version"]: r["judgements"] for r in counts(conn)}
        finally:
            db.close()
    if not rows:
        out.print("no policy version recorded yet")
        return
    table = Table(title="policy versions")
    for column in ("#", "version", "origin", "recorded", "active", "judgements", "preview F1"):
        table.add_column(column)
    for r in rows:
        f1 = ""
        if r.preview:
            f1 = f"{r.preview['current']['f1']:.3f}→{r.preview['draft']['f1']:.3f}"
        table.add_row(
            str(r.number or ""),
            r.version,
            r.origin or "",
            f"{r.created_at:%Y-%m-%d %H:%M}",
            "yes" if r.active else "",
            str(judged.get(r.version, 0)),
            f1,
        )
    out.print(table)


# ---- feedback import / export ---------------------------------------------------------------


@feedback_app.command("import")
def feedback_import(
    path: Annotated[
        Path,
        typer.Argument(help='JSON Lines: {"item_id"|"url", "vote", "note", "editor"} per line.'),
    ],
) -> None:
    """Import votes (from another desk or a spreadsheet). An unknown story or a bad line is
    reported with its line number; every other line is imported."""
    with friendly_errors():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}") from None
        db = open_database(settings_for())
        try:
            imported, problems = _import_votes(db, lines)
        finally:
            db.close()
    for number, message in problems:
        err.print(f"{path}:{number}: {message}", highlight=False, soft_wrap=True)
    out.print(f"imported {imported} vote(s); {len(problems)} line(s) skipped", highlight=False)


def _import_votes(db: Any, lines: list[str]) -> tuple[int, list[tuple[int, str]]]:
    from newsdesk.store import policy as store

    imported, problems = 0, []
    now = datetime.now(UTC)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            problems.append((number, f"not a JSON object ({exc})"))
            continue
        vote = raw.get("vote")
        if vote not in store.VOTE_KINDS:
            problems.append((number, 'vote must be "up", "down" or "star"'))
            continue
        note = str(raw.get("note") or "")[:1000]
        editor = str(raw.get("editor") or "import")[:120]
        with db.read() as conn:
            if raw.get("item_id") is not None:
                item_id = raw["item_id"] if isinstance(raw["item_id"], int) else None
                known = item_id is not None and store.item_exists(conn, item_id)
                label = f"item {raw['item_id']!r}"
            elif raw.get("url"):
                item_id = store.item_by_url(conn, str(raw["url"]))
                known = item_id is not None
                label = f"url {raw['url']}"
            else:
                problems.append((number, 'needs "item_id" or "url"'))
                continue
        if not known:
            problems.append((number, f"unknown story: {label}"))
            continue
        db.write_sync(
            lambda c, i=item_id, v=vote, n=note, e=editor: store.add_vote(
                c, i, v, n, e, now, origin="import"
            )
        )
        imported += 1
    return imported, problems


@feedback_app.command("export")
def feedback_export(
    since: SinceOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write the votes as gold cases in the `eval selection` format (up/star → select,
    down → reject). A story with contradicting votes is written as "either" (not scored) and
    listed on stderr, never silently resolved."""
    with friendly_errors():
        from newsdesk.store import policy as store

        db = open_database(settings_for())
        try:
            with db.read() as conn:
                rows = store.votes(conn, parse_since(since))
        finally:
            db.close()
    cases, disputed = export_cases(rows)
    text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    for case, kinds in disputed:
        err.print(
            f'contradicting votes on story {case["id"]} ({kinds}): exported as "either"',
            highlight=False,
        )
    err.print(f"{len(cases)} gold case(s) from {len(rows)} vote(s)", highlight=False)


def export_cases(rows: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    by_item: dict[int, list[Any]] = {}
    for r in rows:
        by_item.setdefault(r.item_id, []).append(r)
    cases, disputed = [], []
    for item_id, votes in by_item.items():
        first = votes[0]
        kinds = {v.kind for v in votes}
        contradicted = "down" in kinds and bool(kinds & {"up", "star"})
        decision = "either" if contradicted else ("reject" if "down" in kinds else "select")
        case = {
            "id": f"item-{item_id}",
            "title": first.title,
            "url": first.url,
            "published_at": first.published_at.isoformat() if first.published_at else None,
            "body": first.body_text,
            "source": {
                "name": first.source_name,
                "kind": first.source_kind,
                "tier": first.source_tier,
                "language": first.language or "en",
            },
            "split": "dev",
            "gold": {"decision": decision},
            "votes": [
                {
                    "vote": v.kind,
                    "editor": v.editor,
                    "note": v.note,
                    "tier_then": v.tier,
                    "importance_then": v.importance,
                }
                for v in votes
            ],
        }
        cases.append(case)
        if contradicted:
            disputed.append(
                (case, ", ".join(f"{sum(v.kind == k for v in votes)} {k}" for k in sorted(kinds)))
            )
    return cases, disputed


# ---- rejudge --------------------------------------------------------------------------------

TIER_NAMES = ("p1", "featured", "all", "excluded")


def rejudge_command(
    since: Annotated[
        str, typer.Option("--since", help="Stories filed since: an ISO date, 30d or 12h.")
    ],
    tier: Annotated[
        list[str] | None, typer.Option("--tier", help="Only stories now in this tier (repeat).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Judge existing stories again under the active policy version. With a model the
    estimated calls and cost are shown first; the rules editor costs nothing."""
    with friendly_errors():
        from newsdesk.runner.policy import rejudge, rejudge_estimate, rejudge_targets

        tiers = tuple(tier or ())
        unknown = [x for x in tiers if x not in TIER_NAMES]
        if unknown:
            raise UserError(f"--tier must be one of {', '.join(TIER_NAMES)} (not {unknown[0]})")
        when = parse_since(since)
        assert when is not None
        settings = settings_for()
        db = open_database(settings)
        try:
            ids, events = rejudge_targets(db, when, tiers)
            if not ids:
                out.print("no judged story matches", highlight=False)
                return
            estimate = rejudge_estimate(settings, len(ids))
            if estimate["calls"]:
                cost = estimate["cost"]
                out.print(
                    f"{len(ids)} stories and {len(events)} events with {estimate['editor']}: about "
                    f"{estimate['calls']} calls, {estimate['tokens']:,} tokens, "
                    + (f"${cost:.2f}" if cost is not None else "cost unknown (no price for it)"),
                    highlight=False,
                )
            else:
                out.print(
                    f"{len(ids)} stories and {len(events)} events with the rules editor "
                    "(no model calls)",
                    highlight=False,
                )
            if not yes and not typer.confirm("judge them again?"):
                raise typer.Exit(1)
            done = asyncio.run(rejudge(db, settings, ids, events))
        finally:
            db.close()
    counts = done["counts"]
    tiers_done = ", ".join(f"{counts.get('tiers.' + k, 0)} {k}" for k in TIER_NAMES)
    out.print(
        f"re-judged {counts.get('judged', 0)} stories under {done['policy']} ({tiers_done}), "
        f"{counts.get('judge_failed', 0)} failed; {done['events']} events",
        highlight=False,
    )
