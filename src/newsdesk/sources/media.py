"""What makes an entry an episode or a video: enclosures, `media:content`, `itunes:*`, YouTube's
`yt:videoId`, and Podcasting 2.0's `<podcast:transcript>` and `<podcast:chapters>`.

feedparser keeps only the last of several `<podcast:transcript>` tags of an item (a feed often
offers VTT, SRT and JSON together), so when the feed declares the Podcasting 2.0 namespace the
tags are read once more from the bytes with lxml (no DTD, no entities, no network), item by
item, and lined up with feedparser's entries by position.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from newsdesk.domain import Media, TranscriptLink

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
_NS_MARKERS = (b"podcastindex.org/namespace/1.0", b"podcastindex.org/namespace/1.0/")
_AUDIO_EXT = (".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac")
_VIDEO_EXT = (".mp4", ".m4v", ".webm", ".mov")
_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:\.\d+)?\s*$")
MAX_TRANSCRIPT_LINKS = 8  # a hostile feed may list thousands; a few formats is what exists


def http_url(value: Any, base: str = "") -> str:
    """An absolute http(s) URL, or "" (a player's src or a link is never javascript: or data:)."""
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        text = urljoin(base, text) if base else text
        parts = urlsplit(text)
    except ValueError:
        return ""
    return text if parts.scheme in ("http", "https") and parts.netloc else ""


def seconds(value: Any) -> int | None:
    """`itunes:duration` in any of its spellings (3130, "3130", "52:10", "1:02:03")."""
    text = str(value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return int(text) if int(text) < 10**7 else None
    try:
        as_float = float(text)
    except ValueError:
        as_float = -1.0
    if as_float >= 0:
        return int(as_float) if as_float < 10**7 else None
    m = _CLOCK.match(text)
    if not m:
        return None
    hours, minutes, secs = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
    return hours * 3600 + minutes * 60 + secs


def _int(value: Any, digits: int = 6) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) <= digits else None


def _kind(mime: str, url: str, medium: str = "") -> str:
    mime, medium = mime.lower(), medium.lower()
    path = urlsplit(url).path.lower() if url else ""
    if medium in ("audio", "video"):
        return medium
    if mime.startswith("audio/") or path.endswith(_AUDIO_EXT):
        return "audio"
    if mime.startswith("video/") or path.endswith(_VIDEO_EXT):
        return "video"
    return ""


def _player(raw: Any, base: str) -> tuple[str, str, str, int | None, int | None]:
    """(kind, url, type, length, duration) of the first playable file: enclosures first."""
    for link in raw.get("links") or []:
        if link.get("rel") != "enclosure":
            continue
        url = http_url(link.get("href"), base)
        kind = _kind(str(link.get("type") or ""), url)
        if url and kind:
            length = _int(link.get("length"), 15)
            return kind, url, str(link.get("type") or ""), length, None
    for content in raw.get("media_content") or []:
        url = http_url(content.get("url"), base)
        kind = _kind(str(content.get("type") or ""), url, str(content.get("medium") or ""))
        if url and kind:
            return (kind, url, str(content.get("type") or ""), _int(content.get("filesize"), 15),
                    seconds(content.get("duration")))  # fmt: skip
    return "", "", "", None, None


def entry_media(raw: Any, base: str, links: list[TranscriptLink] | None = None) -> Media | None:
    """The media of one feedparser entry, or None when it is neither audio nor video.

    `links` are the entry's transcripts read from the bytes (all of them); without them the
    one feedparser kept is used."""
    kind, url, mime, length, duration = _player(raw, base)
    video_id = str(raw.get("yt_videoid") or "").strip()
    if not kind and re.fullmatch(r"[\w-]{6,20}", video_id):
        kind = "video"  # a YouTube entry: the page plays it, captions may be asked for
    else:
        video_id = ""
    if not kind:
        return None
    duration = seconds(raw.get("itunes_duration")) or duration
    image = raw.get("image") or {}
    picture = http_url(image.get("href") if isinstance(image, dict) else "", base)
    for thumb in raw.get("media_thumbnail") or []:
        picture = picture or http_url(thumb.get("url"), base)
    if links is None:
        one = raw.get("podcast_transcript")
        links = [_link(one, base)] if isinstance(one, dict) else []
    chapters = raw.get("podcast_chapters")
    return Media(
        kind=kind, url=url, type=mime[:100], length=length, duration=duration,
        episode=_int(raw.get("itunes_episode")), season=_int(raw.get("itunes_season")),
        image=picture,
        transcripts=tuple(x for x in links if x.url)[:MAX_TRANSCRIPT_LINKS],
        chapters_url=http_url(chapters.get("url"), base) if isinstance(chapters, dict) else "",
        video_id=video_id,
    )  # fmt: skip


def _link(attrs: Any, base: str) -> TranscriptLink:
    return TranscriptLink(
        url=http_url(attrs.get("url"), base),
        type=str(attrs.get("type") or "").strip().lower()[:100],
        language=str(attrs.get("language") or "").strip()[:20],
        rel=str(attrs.get("rel") or "").strip()[:40],
    )


def declares_podcast_namespace(body: bytes) -> bool:
    head = body[:8192]
    return any(marker in head for marker in _NS_MARKERS)


def transcript_links(body: bytes, base: str) -> list[list[TranscriptLink]] | None:
    """Every item's `<podcast:transcript>` tags, in document order; None when the bytes do not
    parse as XML (feedparser's single value is used then)."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
    )
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    out: list[list[TranscriptLink]] = []
    for item in root.iter("item", "{http://www.w3.org/2005/Atom}entry"):
        found = []
        for ns in (PODCAST_NS, PODCAST_NS + "/"):
            for tag in item.iterfind(f"{{{ns}}}transcript"):
                link = _link(tag.attrib, base)
                if link.url:
                    found.append(link)
        out.append(found[:MAX_TRANSCRIPT_LINKS])
    return out
