"""Transcripts and chapters of episodes: fetched under the full-text rules, parsed, bounded.

Podcasting 2.0 names a transcript's format by MIME type (`text/vtt`, `application/x-subrip`,
`application/json`, `text/html`, `text/plain`); what arrives is checked against what was
declared, because a transcript URL that answers with an error page, an image or a feed is
common. Every fetch goes through `collect.http.Fetcher` (address guard on every hop, streamed
size cap, total timeout). What a transcript says is untrusted text: HTML transcripts give up
their words only (scripts, styles and attributes go), and every count is capped so a hostile
file costs a bounded amount of memory and storage.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from newsdesk.collect.http import Fetcher
from newsdesk.domain import Chapter, Media, Segment, Transcript, TranscriptLink

MAX_BYTES = 5 * 1024 * 1024  # a three-hour episode's VTT is ~1 MB
TIMEOUT_SECONDS = 20.0
MAX_SEGMENTS = 5000  # after merging cues into passages
MAX_CHARS = 300_000  # of words kept: ~5 hours of speech
MAX_SEGMENT_CHARS = 2000
MAX_CHAPTERS = 300
MAX_TITLE_CHARS = 200
LATEST = 48 * 3600.0  # a time past two days is not a time in an episode
MAX_LINKS_TRIED = 3
# Caption cues last 2-5 s; passages of up to this long (one speaker) read better and keep the
# stored rows small, and a cited time still lands within a passage.
PASSAGE_SECONDS = 30.0
PASSAGE_CHARS = 600
# Worth another try on a later pass: the server may answer then.
TRANSIENT = frozenset({"timeout", "connect", "dns", "http_5xx", "rate_limited", "protocol"})

# preference among the formats a feed offers: timed ones first
_RANK = {"json": 0, "vtt": 1, "srt": 2, "html": 3, "text": 4}
_DECLARED = {
    "text/vtt": "vtt",
    "application/x-subrip": "srt",
    "application/srt": "srt",
    "text/srt": "srt",
    "application/json": "json",
    "text/json": "json",
    "text/html": "html",
    "text/plain": "text",
}
_CUE = re.compile(
    r"(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d{1,3}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
)
_TAG = re.compile(r"<[^>]*>")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")


class TranscriptError(ValueError):
    """A transcript that cannot be used; `code` is stable (wrong_type, too_large, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def declared_format(link: TranscriptLink) -> str:
    mime = link.type.split(";")[0].strip().lower()
    if mime in _DECLARED:
        return _DECLARED[mime]
    path = link.url.lower().split("?")[0]
    for ext, fmt in ((".vtt", "vtt"), (".srt", "srt"), (".json", "json"), (".html", "html"),
                     (".htm", "html"), (".txt", "text")):  # fmt: skip
        if path.endswith(ext):
            return fmt
    return ""


def ranked(links: Sequence[TranscriptLink]) -> list[TranscriptLink]:
    """The links worth trying, best format first (unknown formats last)."""
    return sorted(links, key=lambda x: _RANK.get(declared_format(x), 9))


def _decode(body: bytes) -> str:
    if b"\x00" in body[:4096]:
        raise TranscriptError("wrong_type", "binary data, not a transcript")
    text = body.decode("utf-8-sig", errors="replace")
    sample = text[:4096]
    if sample and sum(ch == "\ufffd" for ch in sample) > len(sample) // 20:
        raise TranscriptError("wrong_type", "not UTF-8 text")
    return text


def sniff(text: str) -> str:
    head = text.lstrip()[:2048]
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("<"):
        low = head[:300].lower()
        if low.startswith("<?xml") or "<rss" in low or "<feed" in low or "<svg" in low:
            return "xml"
        return "html"
    if _CUE.search(head):
        return "srt"
    return "text"


def parse_transcript(body: bytes, declared: str = "") -> Transcript:
    """Any of the five formats; `declared` (vtt, srt, json, html, text or "") is what the feed
    said. A body of another kind than declared is `wrong_type`: a timed format that arrives as
    a web page is an error page, not a transcript."""
    if len(body) > MAX_BYTES:
        raise TranscriptError("too_large", f"{len(body)} bytes (at most {MAX_BYTES})")
    text = _decode(body)
    found = sniff(text)
    if found == "xml":
        raise TranscriptError("wrong_type", "an XML document (a feed, an image), not a transcript")
    timed = {"vtt", "srt", "json"}
    if declared in timed and found not in timed:
        raise TranscriptError("wrong_type", f"declared {declared}, but the body is {found}")
    if declared == "html" and found in ("vtt", "srt", "json"):
        declared = found
    fmt = found if found != "text" or declared in ("", "text") else declared
    if fmt == "vtt" or fmt == "srt":
        segments = _cues(text)
    elif fmt == "json":
        segments = _json_segments(text)
    elif fmt == "html":
        segments = _html_segments(text)
    else:
        segments = _plain(text)
    if not segments:
        raise TranscriptError("empty", f"no words in the {fmt} transcript")
    is_timed = fmt != "text" and any(s.start > 0 for s in segments)
    return Transcript(passages(segments), (), fmt, is_timed)


def _clean(text: str) -> str:
    return " ".join(_TAG.sub(" ", text).split())


def _time(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")[:3]) / 1000


def _cues(text: str) -> list[Segment]:
    """WebVTT and SRT alike: every block with a timing line is a cue; the rest is skipped
    (headers, NOTE and STYLE blocks, SRT's counters)."""
    out: list[Segment] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.replace("\r\n", "\n")):
        lines = block.strip().split("\n")
        for n, line in enumerate(lines):
            m = _CUE.search(line)
            if m:
                start = _time(*m.group(1, 2, 3, 4))
                end = _time(*m.group(5, 6, 7, 8))
                words = "\n".join(lines[n + 1 :])
                voice = _VOICE.search(words)
                said = _clean(words)
                if said:
                    out.append(Segment(start, said, end, _clean(voice.group(1)) if voice else ""))
                break
        if len(out) > MAX_SEGMENTS * 20:  # cues are merged below; this bounds the work
            break
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds <= LATEST else None


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TranscriptError("parse_error", f"not JSON: {exc}"[:200]) from None


def _json_segments(text: str) -> list[Segment]:
    """Podcasting 2.0's JSON: {"segments": [{"startTime", "endTime", "speaker", "body"}]}."""
    data = _load_json(text)
    items = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise TranscriptError("parse_error", "JSON without a list of segments")
    out = []
    for raw in items[: MAX_SEGMENTS * 20]:
        if not isinstance(raw, dict):
            continue
        start, body = _number(raw.get("startTime")), raw.get("body")
        if start is None or not isinstance(body, str) or not body.strip():
            continue
        speaker = raw.get("speaker") if isinstance(raw.get("speaker"), str) else ""
        out.append(Segment(start, _clean(body), _number(raw.get("endTime")), _clean(speaker)))
    return out


_CLOCK_TEXT = re.compile(r"^\s*(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?\s*$")


def _html_segments(text: str) -> list[Segment]:
    """The spec's HTML: `<cite>Speaker:</cite> <time>0:00</time> <p>words</p>` repeated. Only
    the words are kept; scripts and styles are dropped before any text is read."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(text)
    for node in tree.css("script, style, noscript, template, iframe, object"):
        node.decompose()
    out: list[Segment] = []
    speaker, at = "", 0.0
    root = tree.body or tree.root
    if root is None:
        return out
    for node in root.traverse(include_text=False):
        if node.tag == "cite":
            speaker = _clean(node.text(deep=True)).rstrip(":").strip()
        elif node.tag == "time":
            m = _CLOCK_TEXT.match(node.text(deep=True))
            if m:
                at = _time(m.group(1), m.group(2), m.group(3), m.group(4) or "0")
        elif node.tag == "p":
            said = _clean(node.text(deep=True))
            if said:
                out.append(Segment(at, said, None, speaker))
        if len(out) > MAX_SEGMENTS * 20:
            break
    if not out:  # no paragraphs: the page's words as plain text
        return _plain(root.text(deep=True, separator="\n"))
    return out


def _plain(text: str) -> list[Segment]:
    parts = [_clean(p) for p in re.split(r"\n\s*\n", text)]
    return [Segment(0.0, p) for p in parts if p][: MAX_SEGMENTS * 20]


def _passages(segments: list[Segment]) -> list[Segment]:
    """Consecutive cues of one speaker joined into passages of up to PASSAGE_SECONDS."""
    out: list[Segment] = []
    for seg in sorted(segments, key=lambda s: s.start):
        last = out[-1] if out else None
        if (
            last is not None
            and last.speaker == seg.speaker
            and seg.start - last.start < PASSAGE_SECONDS
            and len(last.text) + len(seg.text) < PASSAGE_CHARS
            and (seg.start > 0 or last.start > 0 or len(last.text) < 200)
        ):
            out[-1] = Segment(last.start, f"{last.text} {seg.text}", seg.end or last.end,
                              last.speaker)  # fmt: skip
        else:
            out.append(seg)
    return out


def passages(segments: list[Segment]) -> tuple[Segment, ...]:
    """Cues as stored: joined into passages, then bounded in count and length."""
    return tuple(_bounded(_passages(segments)))


def _bounded(segments: list[Segment]) -> list[Segment]:
    out, total = [], 0
    for seg in segments[:MAX_SEGMENTS]:
        said = seg.text[:MAX_SEGMENT_CHARS]
        if total + len(said) > MAX_CHARS:
            break
        total += len(said)
        out.append(Segment(seg.start, said, seg.end, seg.speaker[:80]))
    return out


def parse_chapters(body: bytes) -> tuple[Chapter, ...]:
    """Podcasting 2.0 JSON chapters: {"chapters": [{"startTime", "title"}, …]}; chapters
    marked `"toc": false` are not meant for a table of contents and are left out."""
    if len(body) > MAX_BYTES:
        raise TranscriptError("too_large", f"{len(body)} bytes (at most {MAX_BYTES})")
    data = _load_json(_decode(body))
    items = data.get("chapters") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise TranscriptError("parse_error", "JSON without a list of chapters")
    out = []
    for raw in items[: MAX_CHAPTERS * 10]:
        if not isinstance(raw, dict) or raw.get("toc") is False:
            continue
        start, title = _number(raw.get("startTime")), raw.get("title")
        if start is not None and isinstance(title, str) and _clean(title):
            out.append(Chapter(start, _clean(title)[:MAX_TITLE_CHARS]))
    return tuple(sorted(out, key=lambda c: c.start)[:MAX_CHAPTERS])


# ---- fetching --------------------------------------------------------------------------------


class CaptionSource(Protocol):
    """Captions of a video site, behind one call (collect/captions.py has YouTube's)."""

    name: str

    async def captions(self, video_id: str) -> Transcript: ...


@dataclass
class Found:
    """What the transcripts step stores for one story."""

    status: str  # ok, none, failed, retry
    transcript: Transcript | None = None
    url: str = ""
    error: str = ""
    chapters: tuple[Chapter, ...] = ()
    notes: list[str] = field(default_factory=list)  # what was tried and why it failed


async def _get(fetcher: Fetcher, url: str) -> bytes:
    result = await fetcher.fetch(url)
    if not result.ok:
        raise TranscriptError(result.error_code or "fetch_error", result.error_message or "")
    return result.body


async def fetch_transcript(
    fetcher: Fetcher, media: Media, captions: CaptionSource | None = None
) -> Found:
    """The best transcript the episode offers and its chapters. Formats are tried best first
    (at most MAX_LINKS_TRIED); a video with no published transcript asks `captions` when one
    is given. A transient failure (timeout, server error) is `retry`, a lasting one `failed`;
    an episode with nothing to fetch is `none`."""
    found = Found("none")
    codes: list[str] = []
    for link in ranked(media.transcripts)[:MAX_LINKS_TRIED]:
        try:
            transcript = parse_transcript(await _get(fetcher, link.url), declared_format(link))
        except TranscriptError as exc:
            codes.append(exc.code)
            found.notes.append(f"{link.url}: {exc.code}: {exc}"[:300])
            continue
        found.status, found.transcript, found.url = "ok", transcript, link.url
        break
    if found.transcript is None and media.video_id and captions is not None:
        try:
            found.transcript = await captions.captions(media.video_id)
            found.status, found.url = "ok", f"{captions.name}:{media.video_id}"
        except TranscriptError as exc:
            codes.append(exc.code)
            found.notes.append(f"{captions.name}: {exc.code}: {exc}"[:300])
    if media.chapters_url:
        try:
            found.chapters = parse_chapters(await _get(fetcher, media.chapters_url))
        except TranscriptError as exc:
            found.notes.append(f"chapters {media.chapters_url}: {exc.code}: {exc}"[:300])
            if exc.code in TRANSIENT:  # chapters worth another look; a broken file is not
                codes.append(exc.code)
    if found.transcript is None and codes:
        found.status = "retry" if any(c in TRANSIENT for c in codes) else "failed"
    found.error = "; ".join(found.notes)[:1000]
    return found


def transcript_fetcher(allow_private: bool, timeout: float = TIMEOUT_SECONDS) -> Fetcher:
    return Fetcher(
        allow_private=allow_private, max_bytes=MAX_BYTES, total_timeout=timeout,
        read_timeout=timeout,
    )  # fmt: skip
