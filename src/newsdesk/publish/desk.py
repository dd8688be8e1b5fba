"""Reads for the reader's pages beyond the card feed: coverage members, filter choices, tags,
source health, saved collections and their Markdown export."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, literal_column, select, union_all

from newsdesk.domain import is_row_id
from newsdesk.publish.read import PUBLIC_TIERS, relative_age
from newsdesk.store import schema as t
from newsdesk.store.prepared import fetch_all, read_time


def event_members(
    conn: Connection, item_id: int, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The other public stories of this story's event, oldest first: the coverage drawer."""
    if not is_row_id(item_id):
        return []
    # two statements compiled once (the story page and the drawer ask on every request)
    rows = fetch_all(conn, "event members", _members_query, {"item": item_id})
    now = now or datetime.now(UTC)
    out = [
        {
            "id": r[0],
            "url": r[1],
            "title": {"en": r[8] or r[2], "zh": r[9]},
            "source": r[7],
            "relation": r[6],
            "tier": r[5],
            "age": relative_age(read_time(conn, r[3] or r[4]), now),
            "lead": r[0] == item_id,
            "via": False,
        }
        for r in rows
    ]
    # A source that carried the same link is a discovery, not a story of its own; the event's
    # "also reported by N sources" counts it, so the drawer names it too.
    shown = {r[7] for r in rows}
    found = [
        _Found(r[0], read_time(conn, r[1]), r[2], r[3], r[4], r[5])
        for r in fetch_all(conn, "event discoveries", _discoveries_query, {"item": item_id})
    ]
    for r in found:
        if r.source_name in shown:
            continue
        shown.add(r.source_name)
        out.append(
            {"id": r.item_id, "url": "", "title": {"en": r.title_en or r.title, "zh": r.title_zh},
             "source": r.source_name, "relation": "shared the link", "tier": None,
             "age": relative_age(r.seen_at, now), "lead": False, "via": True}
        )  # fmt: skip
    return out


class _Found(NamedTuple):
    item_id: int
    seen_at: datetime
    source_name: str
    title: str
    title_en: str | None
    title_zh: str | None


def _own_event() -> Any:
    own = t.event_members.alias("own")
    return select(own.c.event_id).where(own.c.item_id == bindparam("item")).scalar_subquery()


def _members_query() -> Any:
    m, i, s, j = t.event_members.c, t.items.c, t.sources.c, t.judgements.c
    return (
        select(i.id, i.url, i.title, i.published_at, i.filed_at, i.tier, m.relation,
               s.name, j.title_en, j.title_zh)
        .join(t.items, i.id == m.item_id)
        .join(t.sources, s.id == i.source_id)
        .outerjoin(t.judgements, j.id == i.judgement_id)
        .where(m.event_id == _own_event(), i.tier.in_(_PUBLIC))
        .order_by(i.filed_at, i.id)
    )  # fmt: skip


def _discoveries_query() -> Any:
    m, i, s, j, d = t.event_members.c, t.items.c, t.sources.c, t.judgements.c, t.discoveries.c
    return (
        select(d.item_id, d.seen_at, s.name, i.title, j.title_en, j.title_zh)
        .join(t.event_members, m.item_id == d.item_id)
        .join(t.items, i.id == d.item_id)
        .join(t.sources, s.id == d.source_id)
        .outerjoin(t.judgements, j.id == i.judgement_id)
        .where(m.event_id == _own_event(), i.tier.in_(_PUBLIC))
        .order_by(d.seen_at, d.id)
    )  # fmt: skip


_PUBLIC = [literal_column(f"'{x}'") for x in PUBLIC_TIERS]  # no list to expand per request
_CHOICES: dict[str, tuple[float, dict[str, list[Any]]]] = {}
CHOICES_TTL = 60.0  # seconds; the lists change only when a source or a new language appears


def filter_choices(conn: Connection) -> dict[str, list[Any]]:
    """What the filter bar offers: sources, groups and languages that have public stories.

    Finding the languages reads every public story (100 ms at 100,000 stories), so the
    answer is kept for a minute per database."""
    key = str(conn.engine.url)
    hit = _CHOICES.get(key)
    if hit and time.monotonic() - hit[0] < CHOICES_TTL:
        return hit[1]
    choices = _filter_choices(conn)
    _CHOICES[key] = (time.monotonic(), choices)
    return choices


def _filter_choices(conn: Connection) -> dict[str, list[Any]]:
    s = t.sources.c
    sources = conn.execute(select(s.id, s.name, s.group_name).order_by(s.name)).all()
    languages = conn.execute(
        select(t.items.c.language).where(t.items.c.tier.in_(PUBLIC_TIERS)).distinct()
    ).scalars()
    return {
        "sources": [(r.id, r.name) for r in sources],
        "groups": sorted({r.group_name for r in sources}),
        "languages": sorted(x for x in languages if x),
    }


_TAG_COUNTS: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()
TAG_COUNT_TTL = 60.0  # seconds, like the filter choices: a heading, not a card


def tag_count(conn: Connection, tag: str) -> int:
    """Public stories with the tag, as the tag page's heading says it. Counting a tag on a
    quarter of 100,000 stories reads 25,000 rows (26 ms on SQLite), so the count is kept for
    a minute per database and tag; the cards below it are never older than the request."""
    key = (str(conn.engine.url), tag)
    hit = _TAG_COUNTS.get(key)
    if hit and time.monotonic() - hit[0] < TAG_COUNT_TTL:
        return hit[1]
    n = _tag_count(conn, tag)
    _TAG_COUNTS[key] = (time.monotonic(), n)
    while len(_TAG_COUNTS) > 1000:
        _TAG_COUNTS.popitem(last=False)
    return n


def _tag_count(conn: Connection, tag: str) -> int:
    g, i = t.item_tags.c, t.items.c
    return int(
        conn.execute(
            select(func.count())
            .select_from(t.item_tags.join(t.items, i.id == g.item_id))
            .where(g.tag == tag, i.tier.in_(PUBLIC_TIERS))
        ).scalar_one()
    )


def source_health(conn: Connection) -> list[dict[str, Any]]:
    """Every source with its polling state and how many public stories it gave."""
    s, i = t.sources.c, t.items.c
    counts = dict(
        conn.execute(
            select(i.source_id, func.count()).where(i.tier.in_(PUBLIC_TIERS)).group_by(i.source_id)
        ).all()
    )
    rows = conn.execute(select(t.sources).order_by(s.group_name, s.name)).all()
    return [
        {
            "id": r.id,
            "name": r.name,
            "name_zh": r.name_zh,
            "url": r.url,
            "kind": r.kind,
            "group": r.group_name,
            "language": r.language,
            "tier": r.tier,
            "enabled": r.enabled,
            "status": r.status,
            "last_fetch_at": r.last_fetch_at,
            "last_success_at": r.last_success_at,
            "failures": r.consecutive_failures,
            "error_code": r.last_error_code,
            "error_message": r.last_error_message,
            "stories": counts.get(r.id, 0),
        }
        for r in rows
    ]


def collections(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    """One person's collections (nobody else's saves are ever shown to them)."""
    c, si = t.collections.c, t.saved_items.c
    rows = conn.execute(
        select(c.id, c.name, func.count(si.item_id).label("n"))
        .outerjoin(t.saved_items, si.collection_id == c.id)
        .where(c.user_id == user_id)
        .group_by(c.id, c.name)
        .order_by(c.name)
    ).all()
    return [{"id": r.id, "name": r.name, "count": r.n} for r in rows]


def saved_ids(conn: Connection, user_id: int, collection: str | None = None) -> list[int]:
    """A person's saved story ids, most recently saved first (all their collections when none
    is named)."""
    c, si = t.collections.c, t.saved_items.c
    query = (
        select(si.item_id, func.max(si.saved_at).label("at"))
        .join(t.collections, c.id == si.collection_id)
        .where(c.user_id == user_id)
    )
    if collection:
        query = query.where(c.name == collection)
    rows = conn.execute(query.group_by(si.item_id).order_by(func.max(si.saved_at).desc()))
    return [r.item_id for r in rows]


def editor_marks(conn: Connection, ids: list[int], user_id: int) -> tuple[set[int], dict[int, str]]:
    """What one person has done to these stories: the ones they saved, and their last vote
    (up or down) on each. One statement, compiled once per count (it runs on every signed-in
    page)."""
    if not ids:
        return set(), {}
    ids = list(dict.fromkeys(ids))[:MARKS_CHUNK]
    params: dict[str, Any] = {f"i{k}": item_id for k, item_id in enumerate(ids)}
    params["user"] = user_id
    rows = fetch_all(conn, ("editor marks", len(ids)), lambda n=len(ids): _marks_query(n), params)
    saved = {r[0] for r in rows if r[1] == "saved"}
    votes = {r[0]: r[1] for r in rows if r[1] != "saved"}  # ordered by id: the last vote wins
    return saved, votes


MARKS_CHUNK = 200  # a page shows at most 200 stories


def _marks_query(n: int) -> Any:
    si, f, c = t.saved_items.c, t.feedback.c, t.collections.c
    wanted = [bindparam(f"i{k}") for k in range(n)]
    saved = (
        select(si.item_id, literal_column("'saved'"), literal_column("0"))
        .join(t.collections, c.id == si.collection_id)
        .where(si.item_id.in_(wanted), c.user_id == bindparam("user"))
    )
    votes = select(f.item_id, f.kind, f.id).where(
        f.item_id.in_(wanted),
        f.user_id == bindparam("user"),
        f.kind.in_([literal_column("'up'"), literal_column("'down'")]),
    )
    return union_all(saved, votes).order_by(literal_column("3"))


def cards_markdown(name: str, cards: list[dict[str, Any]]) -> str:
    """A collection as Markdown: one bullet per story with its link, source, date and summary."""
    lines = [f"# {name}", ""]
    for c in cards:
        title = c["title"]["en"] or c["title"]["zh"] or c["original_title"]
        summary = c["summary"]["en"] or c["summary"]["zh"]
        when = c["published_at"] or c["filed_at"]
        title = title.replace("[", "\\[").replace("]", "\\]")
        lines.append(f"- [{title}]({c['url']}) — {c['source']['name']}, {when:%Y-%m-%d}")
        if summary:
            lines.append(f"  {summary}")
    return "\n".join(lines) + "\n"
