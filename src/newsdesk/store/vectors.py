"""Story vectors: one row per story and embedding model, with the model's name and dimension.

Vectors are bytes here (float16, see embed/base.py); the store neither makes nor compares
them. `pending` finds what the current model has not embedded yet (new stories, revised ones,
or every story after the embedder changed); `since` feeds each process's in-memory index
incrementally.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select

from newsdesk.store import schema as t
from newsdesk.store.media import embedding_extra


@dataclass(frozen=True, slots=True)
class ToEmbed:
    item_id: int
    revision: int
    title: str
    text: str
    extra: str = ""  # an episode's chapter titles and transcript opening (store/media.py)


@dataclass(frozen=True, slots=True)
class StoredVector:
    item_id: int
    filed_at: datetime
    dim: int
    vector: bytes
    created_at: datetime


def pending(
    conn: Connection, model: str, limit: int, ids: list[int] | None = None
) -> list[ToEmbed]:
    """Stories without a vector of `model` made from their current revision (those among
    `ids` when given), newest first: readers search recent news first."""
    c, v = t.items.c, t.item_vectors.c
    query = (
        select(c.id, c.revision, c.title, c.body_text, c.media)
        .outerjoin(t.item_vectors, and_(v.item_id == c.id, v.model == model))
        .where(or_(v.item_id.is_(None), v.revision != c.revision))
        .order_by(c.filed_at.desc(), c.id.desc())
        .limit(limit)
    )
    if ids is not None:
        query = query.where(c.id.in_(ids or [-1]))
    rows = list(conn.execute(query))
    extra = embedding_extra(conn, [r.id for r in rows if r.media is not None])
    return [ToEmbed(r.id, r.revision, r.title, r.body_text, extra.get(r.id, "")) for r in rows]


def count_pending(conn: Connection, model: str) -> int:
    c, v = t.items.c, t.item_vectors.c
    return int(
        conn.execute(
            select(func.count())
            .select_from(t.items)
            .outerjoin(t.item_vectors, and_(v.item_id == c.id, v.model == model))
            .where(or_(v.item_id.is_(None), v.revision != c.revision))
        ).scalar_one()
    )


def save(
    conn: Connection,
    model: str,
    dim: int,
    rows: Iterable[tuple[int, int, bytes]],
    now: datetime,
) -> int:
    """Store (item id, revision, vector bytes) rows of one model, replacing older ones. A story
    deleted meanwhile is skipped."""
    rows = list(rows)
    if not rows:
        return 0
    ids = [item_id for item_id, _, _ in rows]
    alive = set(conn.execute(select(t.items.c.id).where(t.items.c.id.in_(ids))).scalars())
    v = t.item_vectors.c
    conn.execute(delete(t.item_vectors).where(v.model == model, v.item_id.in_(ids)))
    values = [
        {"item_id": i, "model": model, "dim": dim, "vector": blob, "revision": rev,
         "created_at": now}
        for i, rev, blob in rows
        if i in alive
    ]  # fmt: skip
    if values:
        conn.execute(insert(t.item_vectors), values)
    return len(values)


def since(
    conn: Connection, model: str, created_after: datetime | None, limit: int | None = None
) -> list[StoredVector]:
    """Vectors of `model` stored after `created_after` (all when None), oldest first."""
    v, c = t.item_vectors.c, t.items.c
    query = (
        select(v.item_id, c.filed_at, v.dim, v.vector, v.created_at)
        .join(t.items, c.id == v.item_id)
        .where(v.model == model)
        .order_by(v.created_at, v.item_id)
    )
    if created_after is not None:
        query = query.where(v.created_at >= created_after)
    if limit is not None:
        query = query.limit(limit)
    return [StoredVector(*r) for r in conn.execute(query)]


def stamps_since(
    conn: Connection, model: str, created_after: datetime
) -> list[tuple[int, datetime]]:
    """(item id, stored at) of `model`'s vectors stored at or after `created_after`: what a
    process's index checks before fetching any vector bytes."""
    v = t.item_vectors.c
    rows = conn.execute(
        select(v.item_id, v.created_at).where(v.model == model, v.created_at >= created_after)
    )
    return [(r[0], r[1]) for r in rows]


def by_ids(conn: Connection, model: str, ids: list[int]) -> list[StoredVector]:
    """`model`'s vectors of these stories, with their filing time."""
    v, c = t.item_vectors.c, t.items.c
    out: list[StoredVector] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            select(v.item_id, c.filed_at, v.dim, v.vector, v.created_at)
            .join(t.items, c.id == v.item_id)
            .where(v.model == model, v.item_id.in_(chunk))
        )
        out.extend(StoredVector(*r) for r in rows)
    return out


def models(conn: Connection) -> dict[str, tuple[int, int]]:
    """Every model with stored vectors: (dimension, count)."""
    v = t.item_vectors.c
    rows = conn.execute(select(v.model, v.dim, func.count()).group_by(v.model, v.dim))
    return {r[0]: (r[1], r[2]) for r in rows}


def prune_other_models(conn: Connection, model: str) -> int:
    """Drop the vectors of every model but `model` (after a rebuild, they serve nothing)."""
    v = t.item_vectors.c
    return conn.execute(delete(t.item_vectors).where(v.model != model)).rowcount or 0


def window(conn: Connection, model: str, start: datetime, end: datetime) -> list[StoredVector]:
    """Vectors of `model` for stories filed in [start, end] (grouping's window)."""
    v, c = t.item_vectors.c, t.items.c
    rows = conn.execute(
        select(v.item_id, c.filed_at, v.dim, v.vector, v.created_at)
        .join(t.items, c.id == v.item_id)
        .where(v.model == model, c.filed_at >= start, c.filed_at <= end)
    )
    return [StoredVector(*r) for r in rows]


@dataclass(frozen=True, slots=True)
class Neighbour:
    item_id: int
    title: str
    filed_at: datetime
    vector: bytes


REPOST_DAYS = 7  # a re-post repeats a story of its source filed this many days before it
REPOST_CANDIDATES = 200


def reposts_to_check(
    conn: Connection, model: str, ids: list[int]
) -> list[tuple[Any, list[Neighbour]]]:
    """For each of `ids` not yet in an event: its row and the same source's other stories
    filed before it within 7 days that have a vector of `model` (re-post candidates, the
    latest 200). One query per source and week of stories, not one per story."""
    if not ids:
        return []
    c, v, m = t.items.c, t.item_vectors.c, t.event_members.c
    rows = conn.execute(
        select(c.id, c.source_id, c.title, c.filed_at, v.vector)
        .join(t.item_vectors, and_(v.item_id == c.id, v.model == model))
        .outerjoin(t.event_members, m.item_id == c.id)
        .where(c.id.in_(ids), m.item_id.is_(None))
        .order_by(c.filed_at, c.id)
    ).all()
    window = timedelta(days=REPOST_DAYS)
    found: dict[int, list[Neighbour]] = {}
    for group in _source_weeks(rows, window):
        first, last = group[0], group[-1]  # in filing order
        near = [
            Neighbour(*r)
            for r in conn.execute(
                select(c.id, c.title, c.filed_at, v.vector)
                .join(t.item_vectors, and_(v.item_id == c.id, v.model == model))
                .where(
                    c.source_id == first.source_id,
                    c.filed_at >= first.filed_at - window,
                    c.filed_at <= last.filed_at,
                )
                .order_by(c.filed_at.desc(), c.id.desc())
            )
        ]
        for row in group:
            earliest = row.filed_at - window
            found[row.id] = [
                n for n in near
                if n.item_id != row.id and n.filed_at >= earliest
                and (n.filed_at < row.filed_at or (n.filed_at == row.filed_at
                                                   and n.item_id < row.id))
            ][:REPOST_CANDIDATES]  # fmt: skip
    return [(row, found[row.id]) for row in rows]


def _source_weeks(rows: list[Any], window: timedelta) -> list[list[Any]]:
    """The rows (in filing order) by source, cut where a group would span more than `window`,
    so one query's candidates stay within two windows of one source."""
    groups: list[list[Any]] = []
    open_groups: dict[Any, list[Any]] = {}
    for row in rows:
        group = open_groups.get(row.source_id)
        if group is None or row.filed_at - group[0].filed_at > window:
            group = open_groups[row.source_id] = []
            groups.append(group)
        group.append(row)
    return groups
