"""Repositories: the only place that knows how domain objects map to rows.

Every function takes a Connection, so callers decide the transaction (the write path in
`db.Database.write`, or a read connection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from newsdesk.domain import (
    Commentary,
    EarlierStory,
    Item,
    Judgement,
    Media,
    Source,
    SourceTier,
)
from newsdesk.store import schema as t
from newsdesk.store.media import searchable
from newsdesk.store.reader import apply_source_overrides
from newsdesk.store.search import index_item, unindex_item

# --- sources -------------------------------------------------------------------------------


def upsert_sources(conn: Connection, sources: list[Source], now: datetime) -> int:
    """Insert new sources and refresh catalog fields of known ones; health is kept."""
    known = {r.id: r.status for r in conn.execute(select(t.sources.c.id, t.sources.c.status))}
    for s in sources:
        if known.get(s.id) == "removed":  # `sources remove` sticks; `sources add` revives
            continue
        fields = {
            "name": s.name,
            "name_zh": s.name_zh,
            "url": s.url,
            "kind": s.kind,
            "group_name": s.group,
            "language": s.language,
            "tier": s.tier.value,
            "cadence_min": s.cadence_min,
            "cadence_max": s.cadence_max,
            "tags": list(s.tags),
            "notes": s.notes,
            "options": dict(s.options),
        }
        if s.id in known:
            # enabled/disabled is the operator's word (`newsdesk sources enable|disable`) once
            # a source is in the database; a catalog refresh does not override it
            conn.execute(update(t.sources).where(t.sources.c.id == s.id).values(**fields))
        else:
            # DO NOTHING: two workers' ticks may sync the same new catalog at once
            make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                make(t.sources)
                .values(id=s.id, created_at=now, status="new", enabled=s.enabled, **fields)
                .on_conflict_do_nothing()
            )
    apply_source_overrides(conn)  # an editor's enable/disable/tier in the admin pages wins
    return len(sources)


def source_from_row(row: Any) -> Source:
    return Source(
        id=row.id,
        name=row.name,
        url=row.url,
        kind=row.kind,
        name_zh=row.name_zh,
        group=row.group_name,
        language=row.language,
        tier=SourceTier(row.tier),
        cadence_min=row.cadence_min,
        cadence_max=row.cadence_max,
        tags=tuple(row.tags or ()),
        enabled=row.enabled,
        notes=row.notes,
        options=dict(row.options or {}),
    )


def list_source_rows(conn: Connection, enabled_only: bool = False) -> list[Any]:
    query = select(t.sources).order_by(t.sources.c.id)
    if enabled_only:
        query = query.where(t.sources.c.enabled.is_(True))
    return list(conn.execute(query))


def enabled_source_rows(conn: Connection, ids: list[str]) -> list[Any]:
    """The enabled sources among `ids` (a disabled or removed one is never collected)."""
    c = t.sources.c
    return list(conn.execute(select(t.sources).where(c.enabled.is_(True), c.id.in_(ids))))


def due_source_rows(conn: Connection, now: datetime, ids: list[str] | None = None) -> list[Any]:
    """Enabled sources due for a poll (among `ids` when given: a worker's collect job asks
    about its own source only, not every source of the catalog)."""
    query = select(t.sources)
    if ids is not None:
        query = query.where(t.sources.c.id.in_(ids))
    query = (
        query.where(t.sources.c.enabled.is_(True))
        .where(or_(t.sources.c.next_poll_at.is_(None), t.sources.c.next_poll_at <= now))
        .order_by(t.sources.c.next_poll_at)
    )
    return list(conn.execute(query))


@dataclass(frozen=True)
class FetchRecord:
    """One poll of one source: what `fetch_runs` keeps and what the source's health takes."""

    source_id: str
    started_at: datetime
    finished_at: datetime
    http_status: int | None
    error_code: str | None
    error_message: str | None
    nbytes: int
    entries: int
    new_items: int
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime


def record_fetch(conn: Connection, rec: FetchRecord, failing_after: int = 5) -> None:
    conn.execute(
        insert(t.fetch_runs).values(
            source_id=rec.source_id,
            started_at=rec.started_at,
            finished_at=rec.finished_at,
            http_status=rec.http_status,
            error_code=rec.error_code,
            error_message=rec.error_message,
            bytes=rec.nbytes,
            entries=rec.entries,
            new_items=rec.new_items,
        )
    )
    source_id, error_code, finished_at = rec.source_id, rec.error_code, rec.finished_at
    src = t.sources.c
    if error_code is None:
        values: dict[str, Any] = {
            "last_fetch_at": finished_at,
            "last_success_at": finished_at,
            "consecutive_failures": 0,
            "status": "ok",
            "first_import_done": True,
            "next_poll_at": rec.next_poll_at,
        }
        if rec.http_status != 304:  # a 304 keeps the validators we sent
            values |= {"etag": rec.etag, "last_modified": rec.last_modified}
    else:
        failures = (
            conn.execute(select(src.consecutive_failures).where(src.id == source_id)).scalar_one()
            + 1
        )
        values = {
            "last_fetch_at": finished_at,
            "consecutive_failures": failures,
            "last_error_code": error_code,
            "last_error_message": rec.error_message,
            "status": "failing" if failures >= failing_after else "error",
            "next_poll_at": rec.next_poll_at,
        }
    conn.execute(update(t.sources).where(src.id == source_id).values(**values))


# --- items ---------------------------------------------------------------------------------


def save_item(conn: Connection, item: Item) -> tuple[int, str]:
    """Store a story once. Returns (item id, outcome): new, revision, discovery or unchanged."""
    c = t.items.c
    row = conn.execute(
        select(c.id, c.source_id, c.url, c.content_hash, c.revision, c.media).where(
            c.identity_key == item.identity_key
        )
    ).first()
    if row is None:  # a re-post folded into an older story answers for it (fold_repost)
        a = t.item_aliases.c
        row = conn.execute(
            select(c.id, c.source_id, c.url, c.content_hash, c.revision, c.media)
            .join(t.item_aliases, a.item_id == c.id)
            .where(a.identity_key == item.identity_key)
        ).first()
    if row is None:
        values = {k: v for k, v in asdict(item).items() if k not in ("authors", "media")}
        values["authors"] = list(item.authors)
        values["media"] = media_json(item)
        values["updated_at"] = item.first_seen_at
        try:
            with conn.begin_nested():
                item_id = conn.execute(
                    insert(t.items).values(**values).returning(c.id)
                ).scalar_one()
        except IntegrityError:
            # Another writer stored the same story a moment ago (PostgreSQL writes run in
            # parallel): now it is a discovery or unchanged, decided by the path below.
            return save_item(conn, item)
        conn.execute(
            insert(t.item_revisions).values(
                item_id=item_id,
                revision=1,
                title=item.title,
                body_text=item.body_text,
                content_hash=item.content_hash,
                seen_at=item.first_seen_at,
            )
        )
        return item_id, "new"
    if row.source_id != item.source_id:
        # The same story through another source is coverage, not a second item.
        seen = conn.execute(
            select(t.discoveries.c.id).where(
                and_(t.discoveries.c.item_id == row.id, t.discoveries.c.source_id == item.source_id)
            )
        ).first()
        if seen:
            return row.id, "unchanged"
        found_by, found_url = item.source_id, item.url
        if _more_first_hand(conn, item.source_id, row.source_id):
            # The story belongs to its most first-hand source, whichever fetch landed first;
            # the source that had it becomes the discovery.
            conn.execute(
                update(t.items)
                .where(c.id == row.id)
                .values(
                    # everything the first-hand source says wins, its dates included
                    **_owned_fields(item),
                    judgement_id=None if row.content_hash != item.content_hash else c.judgement_id,
                )
            )
            # the tag index orders by the filing time, which the first-hand source just set
            conn.execute(
                update(t.item_tags)
                .where(t.item_tags.c.item_id == row.id)
                .values(filed_at=_owned_fields(item)["filed_at"])
            )
            found_by, found_url = row.source_id, row.url
        conn.execute(
            insert(t.discoveries).values(
                item_id=row.id, source_id=found_by, url=found_url, seen_at=item.first_seen_at
            )
        )
        return row.id, "discovery"
    if row.content_hash == item.content_hash:
        if (row.media or None) != media_json(item):
            # Same words, new media: a transcript link published hours after the episode, a
            # corrected duration. Not a revision (nothing to judge again); the card's version
            # moves with updated_at, and the transcripts step looks again.
            conn.execute(update(t.items).where(c.id == row.id).values(
                media=media_json(item), updated_at=item.first_seen_at))  # fmt: skip
            conn.execute(delete(t.item_transcripts).where(t.item_transcripts.c.item_id == row.id))
        return row.id, "unchanged"
    revision = row.revision + 1
    conn.execute(
        insert(t.item_revisions).values(
            item_id=row.id,
            revision=revision,
            title=item.title,
            body_text=item.body_text,
            content_hash=item.content_hash,
            seen_at=item.first_seen_at,
        )
    )
    conn.execute(
        update(t.items)
        .where(c.id == row.id)
        .values(
            title=item.title,
            body_text=item.body_text,
            body_html=item.body_html,
            content_hash=item.content_hash,
            revision=revision,
            updated_at=item.first_seen_at,
            # a changed story is judged again under the current policy
            judgement_id=None,
            signals=dict(item.signals),
            media=media_json(item),
            fulltext_status=None,  # the new teaser may need the page again
        )
    )
    if (row.media or None) != media_json(item):
        conn.execute(delete(t.item_transcripts).where(t.item_transcripts.c.item_id == row.id))
    return row.id, "revision"


def fold_repost(conn: Connection, repost_id: int, into_id: int, now: datetime) -> str:
    """One source's re-post of a story under a new URL becomes part of the older story: a
    revision when its text changed, else a discovery of the new URL. The re-post's identity
    becomes an alias of the story (its next poll finds it) and the re-post row goes.
    Returns "revision" or "discovery"."""
    c = t.items.c
    dup = conn.execute(select(t.items).where(c.id == repost_id)).first()
    into = conn.execute(select(c.content_hash, c.revision).where(c.id == into_id)).first()
    if dup is None or into is None:
        return "gone"
    conn.execute(
        insert(t.item_aliases).values(
            identity_key=dup.identity_key, item_id=into_id, created_at=now
        )
    )
    outcome = "discovery"
    if dup.content_hash != into.content_hash:
        outcome, revision = "revision", into.revision + 1
        conn.execute(insert(t.item_revisions).values(
            item_id=into_id, revision=revision, title=dup.title, body_text=dup.body_text,
            content_hash=dup.content_hash, seen_at=dup.first_seen_at,
        ))  # fmt: skip
        conn.execute(update(t.items).where(c.id == into_id).values(
            title=dup.title, body_text=dup.body_text, body_html=dup.body_html,
            content_hash=dup.content_hash, revision=revision, updated_at=dup.first_seen_at,
            judgement_id=None,  # a changed story is judged again
        ))  # fmt: skip
    else:
        seen = conn.execute(
            select(t.discoveries.c.id).where(
                t.discoveries.c.item_id == into_id, t.discoveries.c.source_id == dup.source_id
            )
        ).first()
        if seen is None:
            conn.execute(insert(t.discoveries).values(
                item_id=into_id, source_id=dup.source_id, url=dup.url, seen_at=dup.first_seen_at
            ))  # fmt: skip
    unindex_item(conn, repost_id)  # SQLite's FTS tables have no foreign key to cascade
    conn.execute(delete(t.items).where(c.id == repost_id))
    return outcome


TIER_RANK = {"T1": 0, "T1_5": 1, "T2": 2, "T3": 3}


def _owned_fields(item: Item) -> dict[str, Any]:
    """What an item takes from the source that owns it (identity and first sighting excluded)."""
    return {
        "source_id": item.source_id,
        "url": item.url,
        "guid": item.guid,
        "title": item.title,
        "body_text": item.body_text,
        "body_html": item.body_html,
        "language": item.language,
        "authors": list(item.authors),
        "signals": dict(item.signals),
        "media": media_json(item),
        "fulltext_status": None,
        "published_at": item.published_at,
        "filed_at": item.published_at or item.filed_at,
        "content_hash": item.content_hash,
    }


def _more_first_hand(conn: Connection, candidate: str, owner: str) -> bool:
    tiers = dict(
        conn.execute(
            select(t.sources.c.id, t.sources.c.tier).where(t.sources.c.id.in_([candidate, owner]))
        ).all()
    )
    return TIER_RANK.get(tiers.get(candidate, "T3"), 3) < TIER_RANK.get(tiers.get(owner, "T3"), 3)


def item_from_row(row: Any) -> Item:
    return Item(
        identity_key=row.identity_key,
        source_id=row.source_id,
        url=row.url,
        title=row.title,
        body_text=row.body_text,
        body_html=row.body_html,
        language=row.language,
        published_at=row.published_at,
        filed_at=row.filed_at,
        first_seen_at=row.first_seen_at,
        backfill=row.backfill,
        content_hash=row.content_hash,
        guid=row.guid,
        authors=tuple(row.authors or ()),
        signals=dict(row.signals or {}),
        media=Media.from_json(row.media),
    )


def media_json(item: Item) -> dict[str, Any] | None:
    return item.media.as_json() if item.media is not None else None


def coverage_counts(conn: Connection, item_ids: list[int]) -> dict[int, int]:
    """Independent sources per item: its own, its discoveries, and its event's members."""
    if not item_ids:
        return {}
    counts = {i: 1 for i in item_ids}
    rows = conn.execute(
        select(t.discoveries.c.item_id, func.count())
        .where(t.discoveries.c.item_id.in_(item_ids))
        .group_by(t.discoveries.c.item_id)
    )
    for item_id, n in rows:
        counts[item_id] += n
    events = conn.execute(
        select(t.event_members.c.item_id, t.events.c.sources_count)
        .join(t.events, t.events.c.id == t.event_members.c.event_id)
        .where(t.event_members.c.item_id.in_(item_ids))
    )
    for item_id, n in events:
        counts[item_id] = max(counts[item_id], n)
    return counts


# Source tiers from the most first-hand to the least (domain.SourceTier's order).
_TIER_RANK = {"T1": 0, "T1_5": 1, "T2": 2, "T3": 3}


def _tier_rank(column: Any) -> Any:
    return case(_TIER_RANK, value=column, else_=len(_TIER_RANK))


def secondary_reports(conn: Connection, item_ids: list[int]) -> set[int]:
    """Those of `item_ids` that are secondary reports: members of an event led by another
    source's report, from a source that ranks no higher than the lead's (a media report of a
    lab's launch, a second outlet's report of one story). Readers see such an event once,
    through its lead, with "also reported by N" (`publish/read.py`); the report adds coverage,
    and the policy does not feature it on its own (`policy.decide_tier`). A source's own
    further posts on its event (a launch beside its system card) are not secondary."""
    if not item_ids:
        return set()
    m, e = t.event_members.c, t.events.c
    item, lead = t.items.alias("item"), t.items.alias("lead")
    source, lead_source = t.sources.alias("source"), t.sources.alias("lead_source")
    out: set[int] = set()
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start : start + 500]
        query = (
            select(m.item_id)
            .join(t.events, e.id == m.event_id)
            .join(item, item.c.id == m.item_id)
            .join(source, source.c.id == item.c.source_id)
            .join(lead, lead.c.id == e.lead_item_id)
            .join(lead_source, lead_source.c.id == lead.c.source_id)
            .where(
                m.item_id.in_(chunk),
                e.lead_item_id != m.item_id,
                lead_source.c.id != source.c.id,
                _tier_rank(source.c.tier) >= _tier_rank(lead_source.c.tier),
            )
        )
        out |= {int(row[0]) for row in conn.execute(query)}
    return out


def earlier_stories(
    conn: Connection, asks: dict[int, tuple[datetime, tuple[str, ...]]], limit: int = 50
) -> dict[int, list[EarlierStory]]:
    """For each story id: the desk's other stories filed before its time whose title (lower
    case) matches one of its LIKE patterns, oldest first. The editor asks this for a paper
    about a model (`editor/rules.py: follow_up_patterns`) and decides from what it reads
    whether one of them is that model's release (`release_before`)."""
    c = t.items.c
    out: dict[int, list[EarlierStory]] = {}
    for item_id, (before, patterns) in asks.items():
        if not patterns:
            continue
        query = (
            select(c.title, func.substr(c.body_text, 1, 2000).label("lead"), c.filed_at)
            .where(
                c.filed_at < before,
                c.id != item_id,
                or_(*(func.lower(c.title).like(p) for p in patterns)),
            )
            .order_by(c.filed_at, c.id)
            .limit(limit)
        )
        rows = conn.execute(query)
        out[item_id] = [EarlierStory(r.title, r.lead or "", r.filed_at) for r in rows]
    return out


def items_to_judge(
    conn: Connection, limit: int = 500, ids: list[int] | None = None
) -> list[tuple[int, Item, Source]]:
    """Stories without a current judgement, or judged by the rules in the model's place
    (among `ids` when given); live news before backfill, newest first."""
    return [(i, item, source) for i, item, source, _ in judge_todo(conn, limit, ids)]


def judge_todo(
    conn: Connection, limit: int = 500, ids: list[int] | None = None
) -> list[tuple[int, Item, Source, int | None]]:
    """`items_to_judge` with each story's current judgement id as read (None: none yet), for
    `judgement_unchanged` when the new one is stored."""
    c = t.items.c
    query = select(t.items, t.sources.c.id.label("src_id")).join(
        t.sources, t.sources.c.id == c.source_id
    )
    if ids is not None:
        query = query.where(c.id.in_(ids))
    # judge_error with a judgement: the rules judged in the model's place; the model is due
    due = or_(c.judgement_id.is_(None), c.judge_error.is_not(None))
    rows = conn.execute(query.where(due).order_by(c.backfill, c.filed_at.desc()).limit(limit)).all()
    sources = {
        r.id: source_from_row(r)
        for r in conn.execute(
            select(t.sources).where(t.sources.c.id.in_({r.source_id for r in rows}))
        )
    }
    return [(r.id, item_from_row(r), sources[r.source_id], r.judgement_id) for r in rows]


def judgement_unchanged(
    conn: Connection, item_id: int, seen: int | None, content_hash: str
) -> bool:
    """True when the story's text is still the one judged and it still waits for this
    judgement: its current one is still `seen` (the one read when its judging began), or one
    that keeps it due (a rules verdict given in the model's place, which a model's verdict
    replaces). Locks its row (on PostgreSQL; SQLite has one writer), so of two jobs that judged
    it at once (a sweep's and a group's, or a stalled job retried beside its replacement) only
    the first stores a judgement."""
    c = t.items.c
    row = conn.execute(
        select(c.judgement_id, c.judge_error, c.content_hash)
        .where(c.id == item_id)
        .with_for_update()
    ).first()
    if row is None or row.content_hash != content_hash:
        return False
    return row.judgement_id == seen or row.judge_error is not None


def current_verdict(judgement_id: int, judgement: Judgement) -> dict[str, Any]:
    """The newest verdict copied onto the judged row (items or events), for fast filtering."""
    return {
        "judgement_id": judgement_id,
        "tier": judgement.tier.value,
        "importance": judgement.importance,
        # a rules verdict given in the model's place keeps its reason: the story stays due for
        # the model (`items_to_judge`); the model's own verdict clears any earlier error
        "judge_error": judgement.fallback or None,
    }


def judgement_values(judgement: Judgement) -> dict[str, Any]:
    """The columns a judgement fills, shared by story and event judgements."""
    hkr, tags = judgement.hkr, judgement.tags
    return {
        "policy_version": judgement.policy_version,
        "editor": judgement.editor,
        "importance": judgement.importance,
        "tier": judgement.tier.value,
        "hook": hkr.hook,
        "knowledge": hkr.knowledge,
        "resonance": hkr.resonance,
        "hook_reason": hkr.hook_reason,
        "knowledge_reason": hkr.knowledge_reason,
        "resonance_reason": hkr.resonance_reason,
        "tags": {
            "capabilities": list(tags.capabilities),
            "entities": list(tags.entities),
            "topics": list(tags.topics),
        },
        "title_en": judgement.title_en,
        "title_zh": judgement.title_zh,
        "summary_en": judgement.summary_en,
        "summary_zh": judgement.summary_zh,
        "why": judgement.why,
        "excluded_reason": judgement.excluded_reason,
        "breakdown": [part.as_dict() for part in judgement.breakdown],
        "fallback": judgement.fallback or None,
    }


def save_judgement(
    conn: Connection,
    item_id: int,
    judgement: Judgement,
    now: datetime,
    coverage: int | None = None,
    receipt_id: int | None = None,
) -> int:
    """Append a judgement and make it the item's current one. `coverage`: the sources count it
    was judged with; `receipt_id`: the model call's answer it came from."""
    values = judgement_values(judgement) | ({"receipt_id": receipt_id} if receipt_id else {})
    judgement_id = conn.execute(
        insert(t.judgements)
        .values(item_id=item_id, created_at=now, coverage=coverage, **values)
        .returning(t.judgements.c.id)
    ).scalar_one()
    filed_at = conn.execute(
        update(t.items)
        .where(t.items.c.id == item_id)
        .values(**current_verdict(judgement_id, judgement))
        .returning(t.items.c.filed_at)  # the tag index's order, with no second read
    ).scalar_one()
    conn.execute(t.item_tags.delete().where(t.item_tags.c.item_id == item_id))
    tags = list(dict.fromkeys(judgement.tags.all()))
    if tags:
        conn.execute(
            insert(t.item_tags),
            [{"item_id": item_id, "tag": tag, "filed_at": filed_at} for tag in tags],
        )
    title = " ".join(x for x in (judgement.title_en, judgement.title_zh) if x)
    summary = " ".join(x for x in (judgement.summary_en, judgement.summary_zh) if x)
    index_item(conn, item_id, title, searchable(conn, item_id, summary))
    return int(judgement_id)


def fallback_alike(conn: Connection, item_id: int, judgement: Judgement) -> bool:
    """Is the story's current judgement a rules verdict given in the model's place, the same as
    `judgement` in every field a reader sees? Then a pass on which the model fails again
    appends nothing."""
    return current_fallback_alike(conn, t.items, t.judgements, item_id, judgement)


def current_fallback_alike(
    conn: Connection, owners: Table, judgements: Table, owner_id: int, judgement: Judgement
) -> bool:
    """`fallback_alike` for a story (`items`, `judgements`) or an event."""
    row = conn.execute(
        select(judgements)
        .join(owners, owners.c.judgement_id == judgements.c.id)
        .where(owners.c.id == owner_id)
    ).first()
    if row is None or row.fallback is None:
        return False
    wanted = judgement_values(judgement)
    return all(getattr(row, k) == v for k, v in wanted.items() if k != "fallback")


def judge_again_if_coverage_changed(conn: Connection, item_ids: list[int], reason: str) -> int:
    """Of the given stories, make due again (`items_to_judge`, their verdict still on show)
    those judged with a coverage other than their coverage now: their event changed under
    them (a regroup). Returns how many."""
    i, j = t.items.c, t.judgements.c
    changed = []
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start : start + 500]
        now = coverage_counts(conn, chunk)
        rows = conn.execute(
            select(i.id, j.coverage)
            .join(t.judgements, j.id == i.judgement_id)
            .where(i.id.in_(chunk), i.judge_error.is_(None), j.coverage.is_not(None))
        )
        changed += [r.id for r in rows if now.get(r.id, 1) != r.coverage]
    for start in range(0, len(changed), 500):
        conn.execute(
            update(t.items).where(i.id.in_(changed[start : start + 500])).values(judge_error=reason)
        )
    return len(changed)


def mark_judge_error(conn: Connection, item_id: int, message: str) -> None:
    conn.execute(update(t.items).where(t.items.c.id == item_id).values(judge_error=message))


# --- runs ----------------------------------------------------------------------------------


def start_pipeline_run(conn: Connection, now: datetime, owner: dict[str, Any] | None = None) -> int:
    """A `running` row; `owner` (host and pid) lets a later pass tell a dead run from a live one."""
    return int(
        conn.execute(
            insert(t.pipeline_runs)
            .values(started_at=now, status="running", stats={"owner": owner or {}})
            .returning(t.pipeline_runs.c.id)
        ).scalar_one()
    )


def close_interrupted_runs(
    conn: Connection,
    now: datetime,
    me: dict[str, Any],
    alive: Callable[[dict[str, Any]], bool],
    stale: timedelta,
) -> int:
    """Mark `interrupted` the runs left `running` by a process that died (killed, crashed, the
    machine lost): those of this host (`me["host"]`) whose process `alive` says is gone, and
    any older than `stale`. Returns how many were closed."""
    r = t.pipeline_runs.c
    rows = conn.execute(select(r.id, r.started_at, r.stats).where(r.status == "running")).all()
    closed = 0
    for row in rows:
        owner = (row.stats or {}).get("owner") or {}
        mine = owner.get("host") == me["host"] and isinstance(owner.get("pid"), int)
        if (mine and not alive(owner)) or row.started_at < now - stale:
            stats = {**(row.stats or {}), "interrupted": "the process ended before the pass did"}
            conn.execute(
                update(t.pipeline_runs)
                .where(r.id == row.id, r.status == "running")
                .values(status="interrupted", finished_at=now, stats=stats)
            )
            closed += 1
    return closed


def finish_pipeline_run(
    conn: Connection, run_id: int, now: datetime, status: str, stats: dict[str, Any]
) -> None:
    conn.execute(
        update(t.pipeline_runs)
        .where(t.pipeline_runs.c.id == run_id)
        .values(finished_at=now, status=status, stats=stats)
    )


def count_rows(conn: Connection) -> dict[str, int]:
    tables = {
        "sources": t.sources,
        "items": t.items,
        "events": t.events,
        "judgements": t.judgements,
    }
    return {name: conn.execute(select(func.count()).select_from(tb)).scalar_one()
            for name, tb in tables.items()}  # fmt: skip


def insert_commentary(
    conn: Connection,
    owner: dict[str, int],
    commentary: Commentary,
    policy_version: str,
    receipt_id: int | None,
    now: datetime,
) -> int:
    """One commentary row; `owner` is {"item_id": …} for a story or {"event_id": …} for an
    event judged as a whole."""
    return int(
        conn.execute(
            insert(t.commentary)
            .values(
                **owner, created_at=now, policy_version=policy_version,
                editor=commentary.editor, take_en=commentary.take_en,
                take_zh=commentary.take_zh, sharp_en=commentary.sharp_en,
                sharp_zh=commentary.sharp_zh, receipt_id=receipt_id,
            )
            .returning(t.commentary.c.id)
        ).scalar_one()
    )  # fmt: skip
