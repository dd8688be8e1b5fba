"""Rows of the policy loop: numbered policy versions (the active one is the desk's policy),
activations, votes with the judgement they answered, and the admin's policy jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from newsdesk.store import schema as t

VOTE_KINDS = ("up", "down", "star")


# ---- versions ---------------------------------------------------------------------------


def add_version(
    conn: Connection,
    version: str,
    text: str,
    now: datetime,
    origin: str,
    created_by: str = "",
    proposal: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """Record a policy text under its version (content hash); (its number, whether new).

    Two workers may record the same version at the same moment (both judge jobs of a new
    policy): the insert runs in a savepoint, and the one that loses reads the winner's row."""
    p = t.policy_versions.c
    for attempt in range(5):
        row = conn.execute(select(p.number).where(p.version == version)).first()
        if row is not None:
            if proposal is not None:
                conn.execute(
                    update(t.policy_versions).where(p.version == version).values(proposal=proposal)
                )
            return int(row.number or 0), False
        number = int(conn.execute(select(func.coalesce(func.max(p.number), 0))).scalar_one()) + 1
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(t.policy_versions).values(
                        version=version,
                        text=text,
                        created_at=now,
                        active=False,
                        number=number,
                        origin=origin,
                        created_by=created_by or None,
                        proposal=proposal,
                    )
                )
        except IntegrityError:  # the version, or its number, was taken a moment ago
            if attempt == 4:
                raise
            continue
        return number, True
    raise AssertionError("unreachable")


def seed(conn: Connection, version: str, text: str, now: datetime) -> str:
    """The shipped (or configured) policy file is version 1 of a new desk and stays active
    until an editor activates another; returns the active version."""
    active = active_version(conn)
    if active is not None:
        return str(active.version)
    add_version(conn, version, text, now, origin="file")
    conn.execute(update(t.policy_versions).values(active=t.policy_versions.c.version == version))
    return version


def active_version(conn: Connection) -> Any:
    p = t.policy_versions.c
    return conn.execute(select(t.policy_versions).where(p.active.is_(True))).first()


def active_key(conn: Connection) -> tuple[str, int | None] | None:
    """(version hash, number) of the active version, or None."""
    p = t.policy_versions.c
    row = conn.execute(select(p.version, p.number).where(p.active.is_(True))).first()
    return None if row is None else (row.version, row.number)


def find_version(conn: Connection, ref: str) -> Any:
    """A version by its number ("3"), its hash, or a unique prefix of the hash (4+ chars)."""
    p = t.policy_versions.c
    ref = ref.strip()
    if ref.isdigit() and len(ref) < 6:
        return conn.execute(select(t.policy_versions).where(p.number == int(ref))).first()
    rows = conn.execute(
        select(t.policy_versions).where(p.version.startswith(ref, autoescape=True))
    ).all()
    exact = [r for r in rows if r.version == ref]
    if exact:
        return exact[0]
    return rows[0] if len(rows) == 1 and len(ref) >= 4 else None


def versions(conn: Connection) -> list[Any]:
    p = t.policy_versions.c
    return list(conn.execute(select(t.policy_versions).order_by(p.number.desc())).all())


def set_preview(conn: Connection, version: str, preview: dict[str, Any]) -> None:
    p = t.policy_versions.c
    conn.execute(update(t.policy_versions).where(p.version == version).values(preview=preview))


def activate(
    conn: Connection,
    version: str,
    editor: str,
    now: datetime,
    diff: str,
    preview: dict[str, Any] | None,
    feedback_ids: list[int],
) -> bool:
    """Make `version` the desk's policy and record who, when, the diff, the preview's figures
    and the votes it answers. Rolling back is activating an older version."""
    p = t.policy_versions.c
    if conn.execute(select(p.version).where(p.version == version)).first() is None:
        return False
    previous = active_version(conn)
    conn.execute(update(t.policy_versions).values(active=p.version == version))
    conn.execute(
        insert(t.policy_activations).values(
            version=version,
            previous=previous.version if previous else None,
            editor=editor,
            activated_at=now,
            diff=diff,
            preview=preview,
            feedback_ids=feedback_ids,
        )
    )
    return True


def activations(conn: Connection, limit: int = 50) -> list[Any]:
    a = t.policy_activations.c
    return list(
        conn.execute(
            select(t.policy_activations).order_by(a.activated_at.desc(), a.id.desc()).limit(limit)
        ).all()
    )


# ---- votes ------------------------------------------------------------------------------


def hkr_letters(hook: bool, knowledge: bool, resonance: bool) -> str:
    return ("H" if hook else "-") + ("K" if knowledge else "-") + ("R" if resonance else "-")


def add_vote(
    conn: Connection,
    item_id: int,
    kind: str,
    note: str,
    editor: str,
    now: datetime,
    origin: str = "web",
    user_id: int | None = None,
) -> int:
    """One vote, with the judgement the story had when it was cast (what the editor saw)."""
    i, j = t.items.c, t.judgements.c
    row = conn.execute(
        select(j.id, j.policy_version, j.importance, j.tier, j.hook, j.knowledge, j.resonance)
        .select_from(t.items)
        .join(t.judgements, j.id == i.judgement_id)
        .where(i.id == item_id)
    ).first()
    snapshot: dict[str, Any] = {}
    if row is not None:
        snapshot = {
            "judgement_id": row.id,
            "policy_version": row.policy_version,
            "importance": row.importance,
            "tier": row.tier,
            "hkr": hkr_letters(row.hook, row.knowledge, row.resonance),
        }
    return int(
        conn.execute(
            insert(t.feedback)
            .values(
                item_id=item_id,
                kind=kind,
                note=note,
                editor=editor,
                created_at=now,
                origin=origin,
                user_id=user_id,
                **snapshot,
            )
            .returning(t.feedback.c.id)
        ).scalar_one()
    )


def item_by_url(conn: Connection, url: str) -> int | None:
    i, d = t.items.c, t.discoveries.c
    found = conn.execute(select(i.id).where(i.url == url).order_by(i.id).limit(1)).scalar()
    if found is None:  # the same story seen through another source
        found = conn.execute(select(d.item_id).where(d.url == url).limit(1)).scalar()
    return int(found) if found is not None else None


def item_exists(conn: Connection, item_id: int) -> bool:
    return conn.execute(select(t.items.c.id).where(t.items.c.id == item_id)).first() is not None


def votes(conn: Connection, since: datetime | None = None) -> list[Any]:
    """Every vote (oldest first) with its story and the judgement it answered."""
    f, i, s = t.feedback.c, t.items.c, t.sources.c
    query = (
        select(
            f.id,
            f.item_id,
            f.kind,
            f.note,
            f.editor,
            f.created_at,
            f.policy_version,
            f.importance,
            f.tier,
            f.hkr,
            f.origin,
            i.title,
            i.url,
            i.body_text,
            i.published_at,
            i.language,
            s.id.label("source_id"),
            s.name.label("source_name"),
            s.kind.label("source_kind"),
            s.tier.label("source_tier"),
        )
        .join(t.items, i.id == f.item_id)
        .join(t.sources, s.id == i.source_id)
        .order_by(f.created_at, f.id)
    )
    if since is not None:
        query = query.where(f.created_at >= since)
    return list(conn.execute(query).all())


def contradictions(conn: Connection) -> dict[int, dict[str, int]]:
    """Stories voted both up (or starred) and down: {item_id: {kind: count}}."""
    f = t.feedback.c
    counts: dict[int, dict[str, int]] = {}
    for item_id, kind, n in conn.execute(
        select(f.item_id, f.kind, func.count()).group_by(f.item_id, f.kind)
    ):
        counts.setdefault(item_id, {})[kind] = n
    return {k: v for k, v in counts.items() if "down" in v and ("up" in v or "star" in v)}


# ---- jobs -------------------------------------------------------------------------------


def queue_job(
    conn: Connection,
    kind: str,
    requested_by: str,
    now: datetime,
    version: str | None = None,
    params: dict[str, Any] | None = None,
) -> int:
    """Ask the runner for a proposal or a preview; a page never judges stories itself."""
    j = t.policy_jobs.c
    same = j.version.is_(None) if version is None else j.version == version
    waiting = conn.execute(select(j.id).where(j.kind == kind, same, j.status == "waiting")).scalar()
    if waiting is not None:
        return int(waiting)
    return int(
        conn.execute(
            insert(t.policy_jobs)
            .values(
                kind=kind,
                version=version,
                params=params or {},
                status="waiting",
                requested_by=requested_by,
                created_at=now,
            )
            .returning(j.id)
        ).scalar_one()
    )


def waiting_jobs(conn: Connection) -> list[Any]:
    j = t.policy_jobs.c
    return list(
        conn.execute(select(t.policy_jobs).where(j.status == "waiting").order_by(j.id)).all()
    )


def finish_job(
    conn: Connection,
    job_id: int,
    now: datetime,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    conn.execute(
        update(t.policy_jobs)
        .where(t.policy_jobs.c.id == job_id)
        .values(status="failed" if error else "done", result=result, error=error, finished_at=now)
    )


def recent_jobs(conn: Connection, limit: int = 10) -> list[Any]:
    j = t.policy_jobs.c
    return list(conn.execute(select(t.policy_jobs).order_by(j.id.desc()).limit(limit)).all())


# ---- rejudge ----------------------------------------------------------------------------


def clear_verdicts(conn: Connection, item_ids: list[int], event_ids: list[int]) -> None:
    """Make stories (and events) due for judging again; their judgements stay in history."""
    if item_ids:
        conn.execute(
            update(t.items)
            .where(t.items.c.id.in_(item_ids))
            .values(judgement_id=None, judge_error=None)
        )
    if event_ids:
        conn.execute(
            update(t.events)
            .where(t.events.c.id.in_(event_ids))
            .values(judgement_id=None, judge_error=None)
        )
