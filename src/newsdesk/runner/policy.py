"""The policy loop wired to the store: the active version, proposals, previews, activation,
and the propose/preview jobs an editor queues in the admin pages.

The active policy lives in the database (`policy_versions.active`); the configured policy file
seeds version 1 of a new desk. Every judge reads the active version through `active_policy`.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from newsdesk.config import Settings
from newsdesk.domain import Tier
from newsdesk.editor.calibrate import GoldError, load_gold
from newsdesk.editor.preview import preview as measure
from newsdesk.editor.propose import (
    MAX_F1_DROP,
    SELECTED,
    Proposal,
    ProposalRefused,
    Story,
    Vote,
    gold_readings,
    group_votes,
    propose_offline,
    propose_with_model,
    stories_of,
)
from newsdesk.policy import Policy, load_policy
from newsdesk.policy.loader import parse_policy
from newsdesk.runner.editor import earlier_releases
from newsdesk.store import policy as store
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.db import Database, StorageFailure

log = logging.getLogger(__name__)
SHIPPED_GOLD = Path(__file__).resolve().parents[3] / "eval" / "selection.jsonl"


class PolicyLoopError(ValueError):
    """Something the editor can fix (an unknown version, a missing confirmation)."""


def file_policy(settings: Settings) -> tuple[Policy, str]:
    policy = load_policy(settings.policy_path)
    return policy, Path(policy.path).read_text(encoding="utf-8")


def active_policy(db: Database, settings: Settings) -> Policy:
    """The desk's policy: the active version in the database (the file seeds version 1).
    Workers ask for every task: a version parsed before is known by its key, and only the
    key is read (not the text, the proposal and the preview)."""
    with db.read() as conn:
        key = store.active_key(conn)
    if key is not None and key in _ACTIVE:
        return _ACTIVE[key]
    with db.read() as conn:
        row = store.active_version(conn)
    if row is None:
        policy, text = file_policy(settings)
        now = datetime.now(UTC)
        version = db.write_sync(lambda c: store.seed(c, policy.version, text, now))
        with db.read() as conn:
            row = store.find_version(conn, version)
    policy = _parsed(row)
    if len(_ACTIVE) > 8:
        _ACTIVE.clear()
    _ACTIVE[(row.version, row.number)] = policy
    return policy


# (version hash, number) -> its parsed policy; a version's text never changes
_ACTIVE: dict[tuple[str, int | None], Policy] = {}


def _parsed(row: Any) -> Policy:
    return _parse(row.text, int(row.number or 0))


@functools.lru_cache(maxsize=8)
def _parse(text: str, number: int) -> Policy:
    """Parsed once per version: workers read the active version for every task."""
    return parse_policy(text, f"policy version {number}")


def version_row(db: Database, ref: str) -> Any:
    with db.read() as conn:
        row = store.find_version(conn, ref)
    if row is None:
        raise PolicyLoopError(f"no policy version {ref!r} (see `newsdesk policy versions`)")
    return row


# ---- what the loop reads --------------------------------------------------------------------


def desk_stories(db: Database, since: datetime, ids: list[int] | None = None) -> list[Story]:
    """Stories the desk first saw since `since` (or the given ids), read by the rules editor."""
    i = t.items.c
    query = select(t.items)
    query = query.where(i.id.in_(ids)) if ids is not None else query.where(i.first_seen_at >= since)
    with db.read() as conn:
        rows = conn.execute(query.order_by(i.id)).all()
        sources = {r.id: repo.source_from_row(r) for r in conn.execute(select(t.sources))}
        coverage = repo.coverage_counts(conn, [r.id for r in rows])
        secondary = repo.secondary_reports(conn, [r.id for r in rows])
        items = {r.id: repo.item_from_row(r) for r in rows}
        released = earlier_releases(conn, items.items())
    return stories_of(
        (r.id, items[r.id], sources[r.source_id], coverage.get(r.id, 1), r.id in secondary,
         released.get(r.id))
        for r in rows
    )  # fmt: skip


def load_votes(db: Database, since: datetime | None) -> tuple[list[Vote], dict[int, Story]]:
    with db.read() as conn:
        rows = store.votes(conn, since)
    votes = [
        Vote(r.id, r.item_id, r.kind, r.note, r.editor, r.tier or "", r.importance) for r in rows
    ]
    ids = sorted({v.item_id for v in votes})
    return votes, {s.item_id: s for s in desk_stories(db, datetime.min, ids)}


def gold_cases(path: Path | None) -> list[tuple[bool, Any]]:
    try:
        return gold_readings(load_gold(path or SHIPPED_GOLD))
    except GoldError as exc:
        raise PolicyLoopError(str(exc)) from None


# ---- propose, preview, activate -------------------------------------------------------------


async def propose(
    db: Database,
    settings: Settings,
    since: datetime | None,
    editor: str,
    client: Any = None,
    window_days: int = 14,
) -> dict[str, Any]:
    """Write a draft version from the votes; its number, version and what changed."""
    current = active_policy(db, settings)
    with db.read() as conn:
        current_text = store.active_version(conn).text
    votes, stories = load_votes(db, since)
    window = desk_stories(db, datetime.now(UTC) - timedelta(days=window_days))
    gold = gold_cases(None)
    if client is None:
        proposal = propose_offline(current, current_text, votes, stories, window, gold)
    else:
        proposal = await propose_with_model(
            client, current, current_text, votes, stories, window, gold
        )
    return _store_draft(db, proposal, current, editor, client is not None)


def _store_draft(
    db: Database, proposal: Proposal, current: Policy, editor: str, model: bool
) -> dict[str, Any]:
    draft = parse_policy(proposal.text, "the draft")
    summary = {
        "changes": proposal.changes,
        "did_not_change": proposal.did_not_change,
        "answered": proposal.answered,
        "fit": proposal.fit,
        "gold": proposal.gold,
        "proposer": "model" if model else "search",
        "base": current.version,
    }
    now = datetime.now(UTC)
    number, _ = db.write_sync(
        lambda c: store.add_version(
            c, draft.version, proposal.text, now, "proposal", editor, summary
        )
    )
    return {"draft": draft.version, "number": number, **summary}


def preview_version(
    db: Database, settings: Settings, ref: str, days: int = 14, gold: Path | None = None
) -> dict[str, Any]:
    """Re-judge the last `days` of stories under the draft with the rules editor; the figures
    are stored on the version so the admin page and `activate` show them."""
    row = version_row(db, ref)
    current, draft = active_policy(db, settings), _parsed(row)
    stories = desk_stories(db, datetime.now(UTC) - timedelta(days=days))
    votes, voted_stories = load_votes(db, None)
    filed = filed_days(db, [s.item_id for s in stories], settings.timezone)
    figures = measure(current, draft, stories, group_votes(votes, voted_stories), gold_cases(gold),
                      filed)  # fmt: skip
    return _keep_preview(db, row, figures, days, gold)


def _keep_preview(
    db: Database, row: Any, figures: dict[str, Any], days: int, gold: Path | None
) -> dict[str, Any]:
    """A preview's figures, with what they were measured over, stored on the version (the
    admin page and `activate` show them)."""
    figures |= {
        "days": days,
        "gold_file": str(gold or SHIPPED_GOLD),
        "number": row.number,
        "measured_at": datetime.now(UTC).isoformat(),
    }
    db.write_sync(lambda c: store.set_preview(c, row.version, figures))
    return figures


def filed_days(db: Database, ids: list[int], tz: str) -> dict[int, str]:
    """Each story's filed day in the desk's time zone (the preview's tiers per day)."""
    from zoneinfo import ZoneInfo

    zone, i, out = ZoneInfo(tz), t.items.c, {}
    with db.read() as conn:
        for start in range(0, len(ids), 500):
            for item_id, filed_at in conn.execute(
                select(i.id, i.filed_at).where(i.id.in_(ids[start : start + 500]))
            ):
                at = filed_at if filed_at.tzinfo else filed_at.replace(tzinfo=UTC)
                out[item_id] = at.astimezone(zone).date().isoformat()
    return out


def preview_estimate(
    db: Database, settings: Settings, days: int, gold: Path | None = None
) -> dict[str, Any]:
    """What a preview with the model editor would cost: the window's stories judged under
    the draft, and the gold cases under both policies (receipts answer repeats for free)."""
    since = datetime.now(UTC) - timedelta(days=days)
    with db.read() as conn:
        stories = conn.execute(
            select(func.count())
            .select_from(t.items)
            .where(t.items.c.first_seen_at >= since, t.items.c.judgement_id.is_not(None))
        ).scalar_one()
    cases = _gold_case_list(gold)
    return rejudge_estimate(settings, int(stories) + 2 * len(cases)) | {
        "stories": int(stories),
        "gold_cases": len(cases),
    }


def _gold_case_list(gold: Path | None) -> list[Any]:
    try:
        return [c for c in load_gold(gold or SHIPPED_GOLD) if c.decision in ("select", "reject")]
    except GoldError as exc:
        raise PolicyLoopError(str(exc)) from None


async def preview_with_model(
    db: Database,
    settings: Settings,
    ref: str,
    client: Any,
    days: int = 14,
    gold: Path | None = None,
) -> dict[str, Any]:
    """The preview with the model editor (only when asked: it pays for calls): the window's
    stories keep their current verdicts (what the desk shows) and are judged under the draft;
    the gold cases are judged under both. Every call goes through the receipts."""
    from newsdesk.editor.judge import model_judgement
    from newsdesk.editor.preview import compare
    from newsdesk.editor.propose import prf

    row = version_row(db, ref)
    current, draft = active_policy(db, settings), _parsed(row)
    since = datetime.now(UTC) - timedelta(days=days)
    i = t.items.c
    with db.read() as conn:
        rows = conn.execute(
            select(t.items).where(i.first_seen_at >= since, i.judgement_id.is_not(None))
        ).all()
        sources = {r.id: repo.source_from_row(r) for r in conn.execute(select(t.sources))}
        coverage = repo.coverage_counts(conn, [r.id for r in rows])
        secondary = repo.secondary_reports(conn, [r.id for r in rows])
        released = earlier_releases(conn, [(r.id, repo.item_from_row(r)) for r in rows])
        kinds: dict[int, set[str]] = {}
        for vote in store.votes(conn):
            kinds.setdefault(vote.item_id, set()).add(vote.kind)
    slots = asyncio.Semaphore(settings.llm_concurrency)

    async def judged(
        item: Any,
        source: Any,
        policy: Policy,
        cover: int,
        secondary: bool = False,
        released: Any = None,
    ) -> tuple[Any, int]:
        async with slots:
            result = await model_judgement(
                client, item, source, policy, cover, secondary=secondary, released=released
            )
        return result.judgement.tier, result.judgement.importance

    drafts = await asyncio.gather(
        *(
            judged(repo.item_from_row(r), sources[r.source_id], draft, coverage.get(r.id, 1),
                   r.id in secondary, released.get(r.id))
            for r in rows
        )
    )  # fmt: skip
    before = {r.id: (Tier(r.tier), int(r.importance or 0)) for r in rows}
    after = dict(zip([r.id for r in rows], drafts, strict=True))
    cases = _gold_case_list(gold)
    gold_now = await asyncio.gather(*(judged(c.item, c.source, current, c.coverage) for c in cases))
    gold_draft = await asyncio.gather(*(judged(c.item, c.source, draft, c.coverage) for c in cases))
    agreement = [
        (_want(k), before[item_id][0] in SELECTED, after[item_id][0] in SELECTED)
        for item_id, k in kinds.items()
        if item_id in before
    ]
    figures = compare(
        {r.id: r.title for r in rows},
        before,
        after,
        agreement,
        prf(
            [
                (c.decision == "select", g[0] in SELECTED)
                for c, g in zip(cases, gold_now, strict=True)
            ]
        ),
        prf(
            [
                (c.decision == "select", g[0] in SELECTED)
                for c, g in zip(cases, gold_draft, strict=True)
            ]
        ),
        filed_days(db, [r.id for r in rows], settings.timezone),
    )
    figures |= {
        "current_version": current.version,
        "draft_version": draft.version,
        "gold_cases": len(cases),
        "editor": settings.llm_model,
    }
    return _keep_preview(db, row, figures, days, gold)


def _want(kinds: set[str]) -> bool | None:
    """Select (up, star), reject (down), or None when editors disagree."""
    if "down" in kinds and kinds & {"up", "star"}:
        return None
    return "down" not in kinds


def diff_text(old: str, new: str, old_name: str, new_name: str) -> str:
    return "\n".join(
        difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm="")
    )


def activate_version(
    db: Database, settings: Settings, ref: str, editor: str, confirm: str = ""
) -> dict[str, Any]:
    """Make a version the desk's policy. A draft whose measured gold F1 fell by more than 0.02
    needs `confirm` equal to its version (typed by the editor)."""
    active_policy(db, settings)  # a new desk has its version 1 first
    row = version_row(db, ref)
    with db.read() as conn:
        active = store.active_version(conn)
    if active is not None and active.version == row.version:
        raise PolicyLoopError(f"version {row.number} ({row.version}) is already active")
    preview = row.preview or None
    if preview and preview.get("needs_confirmation") and confirm.strip() != row.version:
        raise PolicyLoopError(
            f"version {row.number} lowers gold F1 by {preview['f1_drop']:.3f} (more than "
            f"{MAX_F1_DROP}); type its version {row.version} to confirm"
        )
    diff = diff_text(
        active.text if active else "", row.text, active.version if active else "none", row.version
    )
    answered = list((row.proposal or {}).get("answered", []))
    now = datetime.now(UTC)
    db.write_sync(lambda c: store.activate(c, row.version, editor, now, diff, preview, answered))
    return {
        "version": row.version,
        "number": row.number,
        "previous": active.version if active else None,
        "answered": answered,
    }


# ---- the admin's jobs ---------------------------------------------------------------------


async def run_policy_jobs(db: Database, settings: Settings) -> int:
    """Do the proposals and previews editors asked for in the admin pages; each job's
    outcome (or its one-line error) is stored for the page to show. A proposal uses the model
    when one is configured, like `newsdesk policy propose`."""
    with db.read() as conn:
        jobs = store.waiting_jobs(conn)
    if not jobs:
        return 0
    from newsdesk.runner.editor import model_editor  # the editor's client, receipts included

    client = model_editor(db, settings) if any(j.kind == "propose" for j in jobs) else None
    try:
        await _run_jobs(db, settings, jobs, client)
    finally:
        if client is not None:
            await client.close()
    return len(jobs)


async def _run_jobs(db: Database, settings: Settings, jobs: list[Any], client: Any) -> None:
    for job in jobs:
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            if job.kind == "propose":
                since = _since(job.params.get("since_days"))
                result = await propose(db, settings, since, job.requested_by, client)
            elif job.kind == "preview":
                result = preview_version(db, settings, job.version, int(job.params.get("days", 14)))
            else:
                error = f"unknown job kind {job.kind!r}"
        except (ProposalRefused, PolicyLoopError, ValueError) as exc:
            error = str(exc)
        except StorageFailure:
            raise
        except Exception as exc:  # a job's failure is shown on the page, never the pass's
            log.exception("policy job %s failed", job.id)
            error = f"{type(exc).__name__}: {exc}"
        _finish(db, job.id, result, error)


def _finish(db: Database, job_id: int, result: dict[str, Any] | None, error: str | None) -> None:
    now = datetime.now(UTC)
    db.write_sync(lambda c: store.finish_job(c, job_id, now, result, error))


def _since(days: Any) -> datetime | None:
    return datetime.now(UTC) - timedelta(days=int(days)) if days else None


# ---- rejudge --------------------------------------------------------------------------------

# What one story's judgement costs with a model, from bench/editor.py (docs/editor.md):
# about 1.3 judge calls per story (second opinions near a line), 2,400 tokens in, 650 out.
CALLS_PER_STORY = 1.3
TOKENS_IN_PER_STORY, TOKENS_OUT_PER_STORY = 2400, 650
REJUDGE_CHUNK = 200  # stories cleared and judged at a time, so few are ever off the desk


def rejudge_targets(
    db: Database, since: datetime, tiers: tuple[str, ...] = ()
) -> tuple[list[int], list[int]]:
    """Stories filed since `since` (optionally only those in `tiers`), and the judged
    multi-source events they lead."""
    i, e = t.items.c, t.events.c
    query = select(i.id).where(i.filed_at >= since, i.judgement_id.is_not(None))
    if tiers:
        query = query.where(i.tier.in_(tiers))
    with db.read() as conn:
        ids = [int(r) for r in conn.execute(query.order_by(i.filed_at.desc(), i.id)).scalars()]
        events = (
            [
                int(r)
                for r in conn.execute(
                    select(e.id).where(e.lead_item_id.in_(ids), e.judgement_id.is_not(None))
                ).scalars()
            ]
            if ids
            else []
        )
    return ids, events


def rejudge_estimate(settings: Settings, stories: int) -> dict[str, Any]:
    """Calls, tokens and cost a model re-judgement would take (the rules editor costs 0)."""
    from newsdesk.editor.providers import price_for

    if not settings.llm_configured:
        return {"editor": "rules", "calls": 0, "tokens": 0, "cost": 0.0}
    tokens_in, tokens_out = stories * TOKENS_IN_PER_STORY, stories * TOKENS_OUT_PER_STORY
    cost = price_for(settings, settings.llm_model, tokens_in, tokens_out)
    return {
        "editor": settings.llm_model,
        "calls": round(stories * CALLS_PER_STORY),
        "tokens": tokens_in + tokens_out,
        "cost": cost,
    }


async def rejudge(
    db: Database, settings: Settings, item_ids: list[int], event_ids: list[int]
) -> dict[str, Any]:
    """Judge the stories again under the active version, through the judge step: each chunk's
    current verdicts are cleared and the step judges them at once (a story whose model call
    fails keeps its error and is tried again on the next pass, like any unjudged story)."""
    from newsdesk.runner.steps import StepContext, comment, judge, judge_events

    policy = active_policy(db, settings)
    counts: dict[str, int] = {}
    async with StepContext(db, settings, policy) as ctx:
        for start in range(0, len(item_ids), REJUDGE_CHUNK):
            chunk = item_ids[start : start + REJUDGE_CHUNK]
            await db.write(lambda c, ids=chunk: store.clear_verdicts(c, ids, []))
            result = await judge(ctx, chunk)
            for key, n in result.counts.items():
                counts[key] = counts.get(key, 0) + n
            if result.next.get("comment"):
                await comment(ctx, result.next["comment"])
        if event_ids:
            await db.write(lambda c: store.clear_verdicts(c, [], event_ids))
            result = await judge_events(ctx, event_ids)
            for key, n in result.counts.items():
                counts[key] = counts.get(key, 0) + n
    return {
        "policy": policy.version,
        "stories": len(item_ids),
        "events": len(event_ids),
        "counts": counts,
    }
