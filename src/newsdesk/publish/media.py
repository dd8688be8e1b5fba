"""Episodes and videos as readers see them: the card's kind and duration, the item page's player
and transcript.

The player is the browser's own `<audio>`/`<video>` with `preload="none"` (nothing is
downloaded until the reader presses play, never autoplay) on the publisher's file; a video
that only its site plays (YouTube) gets its thumbnail and a link out, never an embed script.
The item page's Content-Security-Policy names the file's origin alone (`media_origins`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from newsdesk.domain import Media, clock
from newsdesk.store import media as store_media

ICONS = {"audio": "🎧", "video": "▶"}


def duration_label(seconds: int | None) -> str:
    """52 min, 1 h 12 min, 45 s: what a card has room for."""
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def card_media(stored: Any) -> dict[str, Any] | None:
    """The card's part of a story's media: kind, icon, duration and the label "🎧 52 min"."""
    media = Media.from_json(stored)
    if media is None:
        return None
    length = duration_label(media.duration)
    icon = ICONS[media.kind]
    return {
        "kind": media.kind,
        "duration": media.duration,
        "label": f"{icon} {length}" if length else f"{icon} {media.kind}",
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def item_media(conn: Connection, item_id: int) -> dict[str, Any] | None:
    """What the item page shows of an episode or video: player, transcript passages with their
    times, chapters. None for a story without media."""
    media = store_media.media_of(conn, item_id)
    if media is None:
        return None
    row = store_media.transcript_row(conn, item_id)
    transcript = store_media.transcript_from_row(row)
    playable = bool(media.url) and (media.type.startswith(("audio/", "video/")) or not media.type)
    out: dict[str, Any] = {
        "kind": media.kind,
        "url": media.url if playable else "",
        "type": media.type if playable else "",
        "image": media.image,
        "duration": duration_label(media.duration),
        "episode": media.episode,
        "season": media.season,
        "video_id": media.video_id,
        "segments": [],
        "chapters": [],
        "timed": False,
        "format": "",
        "status": row.status if row is not None else "",
        "version": (row.fetched_at.isoformat(), row.status) if row is not None else None,
    }
    if transcript is not None:
        out["timed"] = transcript.timed
        out["format"] = transcript.format
        out["segments"] = [
            {"start": int(s.start), "at": clock(s.start), "speaker": s.speaker, "text": s.text}
            for s in transcript.segments
        ]
        out["chapters"] = [
            {"start": int(c.start), "at": clock(c.start), "title": c.title}
            for c in transcript.chapters
        ]
    return out


def media_origins(shown: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(media origins, image origins) the item page's CSP must allow for this story."""
    if not shown:
        return [], []
    media = [o for o in (_origin(shown["url"]),) if o]
    images = [o for o in (_origin(shown["image"]),) if o]
    return media, images
