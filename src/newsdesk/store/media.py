"""Transcripts and chapters of stories with media (`item_transcripts`).

A transcript is part of the story's text: once stored it joins the search index (beside the
judged title and summary), and the story's vectors are dropped so the embed step makes them
again with the transcript in view (`text_for_embedding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select

from newsdesk.domain import Chapter, Media, Segment, Transcript
from newsdesk.store import schema as t
from newsdesk.store.search import index_item

MAX_ATTEMPTS = 3  # a transcript that failed this often for passing reasons is given up
INDEX_CHARS = 100_000  # of a transcript in the search index (the rest is still shown)


@dataclass(frozen=True, slots=True)
class MediaTodo:
    item_id: int
    media: Media
    attempts: int


def pending(
    conn: Connection, now: datetime, limit: int, ids: list[int] | None = None
) -> list[MediaTodo]:
    """Stories with media whose transcript has not been looked for, or whose last look met a
    passing failure that is due again; live news first, newest first."""
    i, tr = t.items.c, t.item_transcripts.c
    query = (
        select(i.id, i.media, tr.attempts)
        .outerjoin(t.item_transcripts, tr.item_id == i.id)
        .where(i.media.is_not(None))
        .where(
            or_(
                tr.item_id.is_(None),
                and_(tr.status == "retry", tr.retry_at <= now, tr.attempts < MAX_ATTEMPTS),
            )
        )
        .order_by(i.backfill, i.filed_at.desc())
        .limit(limit)
    )
    if ids is not None:
        query = query.where(i.id.in_(ids or [-1]))
    out = []
    for row in conn.execute(query):
        media = Media.from_json(row.media)
        if media is not None:
            out.append(MediaTodo(row.id, media, row.attempts or 0))
    return out


def segments_json(transcript: Transcript) -> list[list[Any]]:
    return [[s.start, s.end, s.speaker, s.text] for s in transcript.segments]


def chapters_json(chapters: tuple[Chapter, ...]) -> list[list[Any]]:
    return [[c.start, c.title] for c in chapters]


def transcript_from_row(row: Any) -> Transcript | None:
    """The stored transcript (chapters included), or None when there is none."""
    if row is None:
        return None
    segments = tuple(
        Segment(float(s[0]), str(s[3]), None if s[1] is None else float(s[1]), str(s[2] or ""))
        for s in row.segments or ()
    )
    chapters = tuple(Chapter(float(c[0]), str(c[1])) for c in row.chapters or ())
    if not segments and not chapters:
        return None
    timed = row.format != "text" and any(s.start > 0 for s in segments)
    return Transcript(segments, chapters, row.format, timed)


def save(
    conn: Connection,
    item_id: int,
    status: str,
    now: datetime,
    *,
    transcript: Transcript | None = None,
    chapters: tuple[Chapter, ...] = (),
    url: str = "",
    error: str = "",
    retry_at: datetime | None = None,
) -> None:
    """Store what the transcripts step found (replacing an earlier look), then bring the
    story's search text and vectors up to date."""
    tr = t.item_transcripts.c
    before = conn.execute(select(tr.attempts).where(tr.item_id == item_id)).scalar()
    conn.execute(delete(t.item_transcripts).where(tr.item_id == item_id))
    words = transcript.text if transcript is not None else ""
    conn.execute(
        insert(t.item_transcripts).values(
            item_id=item_id, status=status, format=transcript.format if transcript else "",
            url=url, segments=segments_json(transcript) if transcript else None,
            chapters=chapters_json(chapters) if chapters else None, text=words, error=error,
            attempts=(before or 0) + 1, retry_at=retry_at, fetched_at=now,
        )
    )  # fmt: skip
    if words or chapters:
        reindex(conn, item_id)
        # made again by the embed step, now with the transcript in view
        conn.execute(delete(t.item_vectors).where(t.item_vectors.c.item_id == item_id))


def searchable(conn: Connection, item_id: int, summary: str) -> str:
    """What the search index holds beside the title: the summary, then the chapter titles and
    the transcript's words (bounded)."""
    tr = t.item_transcripts.c
    row = conn.execute(select(tr.text, tr.chapters).where(tr.item_id == item_id)).first()
    if row is None:
        return summary
    chapters = " ".join(str(c[1]) for c in row.chapters or ())
    return "\n".join(x for x in (summary, chapters, (row.text or "")[:INDEX_CHARS]) if x)


def reindex(conn: Connection, item_id: int) -> None:
    """A judged story's index row again (an unjudged one is indexed when it is judged)."""
    i, j = t.items.c, t.judgements.c
    row = conn.execute(
        select(j.title_en, j.title_zh, j.summary_en, j.summary_zh)
        .join(t.items, i.judgement_id == j.id)
        .where(i.id == item_id)
    ).first()
    if row is None:
        return
    title = " ".join(x for x in (row.title_en, row.title_zh) if x)
    summary = " ".join(x for x in (row.summary_en, row.summary_zh) if x)
    index_item(conn, item_id, title, searchable(conn, item_id, summary))


def transcripts_of(conn: Connection, ids: list[int]) -> dict[int, Transcript]:
    """The stored transcripts (with chapters) of these stories, for the editor."""
    if not ids:
        return {}
    tr = t.item_transcripts.c
    rows = conn.execute(select(t.item_transcripts).where(tr.item_id.in_(ids)))
    return {r.item_id: found for r in rows if (found := transcript_from_row(r)) is not None}


def media_of(conn: Connection, item_id: int) -> Media | None:
    stored = conn.execute(select(t.items.c.media).where(t.items.c.id == item_id)).scalar()
    return Media.from_json(stored)


def transcript_row(conn: Connection, item_id: int) -> Any:
    tr = t.item_transcripts.c
    return conn.execute(select(t.item_transcripts).where(tr.item_id == item_id)).first()


def embedding_extra(conn: Connection, ids: list[int]) -> dict[int, str]:
    """Chapter titles and the opening words of each story's transcript: what a short show note
    gains for its vector."""
    if not ids:
        return {}
    tr = t.item_transcripts.c
    rows = conn.execute(
        select(tr.item_id, tr.chapters, tr.text).where(tr.item_id.in_(ids), tr.status == "ok")
    )
    out = {}
    for r in rows:
        chapters = "; ".join(str(c[1]) for c in r.chapters or ())
        out[r.item_id] = " ".join(x for x in (chapters, (r.text or "")[:600]) if x)
    return out


def awaiting_transcript(conn: Connection, ids: list[int]) -> set[int]:
    """Those of these stories with media whose transcript has not been looked for yet (no
    row): the editor waits for the transcripts step rather than judge them from the notes."""
    if not ids:
        return set()
    i, tr = t.items.c, t.item_transcripts.c
    query = (
        select(i.id)
        .outerjoin(t.item_transcripts, tr.item_id == i.id)
        .where(i.id.in_(ids), i.media.is_not(None), tr.item_id.is_(None))
    )
    return set(conn.execute(query).scalars())
