"""Plain types shared by every stage. No I/O, no imports from the rest of newsdesk.

Stages take and return these objects, so each stage can be tested without a database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# Heat's time scale (events/heat.py). On a busy desk the last 48 hours hold plenty of news;
# on a sparse one (a few sources, or the demo's year of 1-3 stories a day) they hold one story
# or none, and a fixed 48 h would call the desk's whole week cold. So the window reaches back
# at least 48 h and as far as the desk's last HEAT_PACE_STORIES stories, at most 14 days (the
# grouping window and the heat snapshots' life); a source's weight halves every half window,
# and the markers' window ("new", "rising", "surge") is an eighth of it: 24 h and 6 h at 48 h.
HEAT_MIN_WINDOW = timedelta(hours=48)
HEAT_MAX_WINDOW = timedelta(days=14)
HEAT_PACE_STORIES = 12


@dataclass(frozen=True, slots=True)
class HeatScale:
    """The time scale heat was computed on, stored by the pass and read by the pages."""

    window: timedelta = HEAT_MIN_WINDOW

    @classmethod
    def for_pace(cls, reach: timedelta | None) -> HeatScale:
        """`reach`: how far back the desk's last HEAT_PACE_STORIES stories go (None: no story).
        Rounded up to 8 hours: the half-life and the markers' window stay whole hours a page
        can say, and the stored scale changes at most every 8 hours on a quiet desk."""
        if reach is None:
            return cls()
        hours = -(-reach.total_seconds() // (8 * 3600)) * 8
        return cls(min(max(timedelta(hours=hours), HEAT_MIN_WINDOW), HEAT_MAX_WINDOW))

    @property
    def half_life(self) -> timedelta:
        return self.window / 2

    @property
    def markers(self) -> timedelta:
        return self.window / 8


class Tier(enum.StrEnum):
    """Editorial tier of a story, highest first."""

    P1 = "p1"
    FEATURED = "featured"
    ALL = "all"
    EXCLUDED = "excluded"


class SourceTier(enum.StrEnum):
    """How close a source is to the news: decides the featured line."""

    T1 = "T1"  # official, first-hand
    T1_5 = "T1_5"  # official accounts, quasi-official authors
    T2 = "T2"  # media and individuals
    T3 = "T3"  # community signal: adds heat, never featured alone


SOURCE_KINDS = ("rss", "web_list", "json_api", "push")
SOURCE_GROUPS = (
    "vendor-official",
    "media",
    "newsletter",
    "research",
    "social",
    "podcast",
    "policy",
)


# Row ids are INTEGER columns: 32-bit `integer` on PostgreSQL (a larger number in a query is
# an "out of range" error), 64-bit on SQLite (whose driver refuses more). One bound for both,
# the smaller, so a number from a URL, a cursor or a form that names no row on either engine
# is "not found" and never reaches a query.
MAX_ID = 2**31 - 1


def is_row_id(value: int) -> bool:
    """Whether `value` could be a row id; anything else is "not found", never a query."""
    return 0 < value <= MAX_ID


def feed_url_key(url: str) -> str:
    """One key for the spellings of one feed URL: scheme and host in any case, with or
    without a trailing slash (OPML files list `http://x.example` and `http://x.example/`)."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    name: str
    url: str
    kind: str = "rss"
    name_zh: str = ""
    group: str = "media"
    language: str = "en"
    tier: SourceTier = SourceTier.T2
    cadence_min: int = 15  # minutes between polls, lower bound
    cadence_max: int = 1440  # upper bound
    tags: tuple[str, ...] = ()
    enabled: bool = True
    notes: str = ""
    # kind settings: selectors for web_list, dot-paths for json_api, the preset name and its
    # arguments; plain JSON-able values only
    options: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry as a source delivered it, before normalisation."""

    source_id: str
    title: str
    link: str
    guid: str = ""
    published: datetime | None = None  # timezone-aware UTC when known
    summary_html: str = ""
    content_html: str = ""
    authors: tuple[str, ...] = ()
    # what a source says beyond the story: categories, points, comment counts, …
    signals: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    media: Media | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class TranscriptLink:
    """A `<podcast:transcript>` of an episode: where it is and what the publisher says it is."""

    url: str
    type: str = ""  # MIME type as declared: text/vtt, application/x-subrip, application/json, …
    language: str = ""
    rel: str = ""  # "captions" marks timed captions


@dataclass(frozen=True, slots=True)
class Media:
    """What makes a story something to listen to or watch (an episode, a video)."""

    kind: str  # "audio" or "video"
    url: str = ""  # the playable file (enclosure, media:content); "" when only a page plays it
    type: str = ""  # its MIME type
    length: int | None = None  # bytes, as declared
    duration: int | None = None  # seconds
    episode: int | None = None
    season: int | None = None
    image: str = ""
    transcripts: tuple[TranscriptLink, ...] = ()
    chapters_url: str = ""
    video_id: str = ""  # a YouTube video: its captions can be asked for

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for name in ("url", "type", "length", "duration", "episode", "season", "image",
                     "chapters_url", "video_id"):  # fmt: skip
            if value := getattr(self, name):
                out[name] = value
        if self.transcripts:
            out["transcripts"] = [
                {
                    k: v
                    for k, v in (
                        ("url", t.url),
                        ("type", t.type),
                        ("language", t.language),
                        ("rel", t.rel),
                    )
                    if v
                }
                for t in self.transcripts
            ]
        return out

    @classmethod
    def from_json(cls, data: Any) -> Media | None:
        """The stored form back; None for anything that is not one (an old or empty column)."""
        if not isinstance(data, dict) or data.get("kind") not in ("audio", "video"):
            return None

        def number(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        links = tuple(
            TranscriptLink(
                str(t.get("url", "")),
                str(t.get("type", "")),
                str(t.get("language", "")),
                str(t.get("rel", "")),
            )
            for t in data.get("transcripts") or ()
            if isinstance(t, dict) and t.get("url")
        )
        return cls(
            kind=str(data["kind"]), url=str(data.get("url", "")), type=str(data.get("type", "")),
            length=number("length"), duration=number("duration"), episode=number("episode"),
            season=number("season"), image=str(data.get("image", "")), transcripts=links,
            chapters_url=str(data.get("chapters_url", "")), video_id=str(data.get("video_id", "")),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Segment:
    """One timed stretch of a transcript."""

    start: float  # seconds from the start of the episode
    text: str
    end: float | None = None
    speaker: str = ""


@dataclass(frozen=True, slots=True)
class Chapter:
    start: float
    title: str


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said in an episode, as the publisher (or the video site's captions) gave it."""

    segments: tuple[Segment, ...]
    chapters: tuple[Chapter, ...] = ()
    format: str = ""  # vtt, srt, json, html, text, youtube
    timed: bool = True  # False: plain text or HTML without times (segments start at 0)

    @property
    def text(self) -> str:
        return "\n".join(s.text for s in self.segments)

    def at(self, seconds: float, around: float) -> str:
        """The words said within `around` seconds of `seconds`."""
        return " ".join(s.text for s in self.segments if abs(s.start - seconds) <= around)


def clock(seconds: float) -> str:
    """23:10, or 1:02:03 past an hour: how a transcript's times are written."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class Item:
    """A normalised story: one per identity key, whatever source it came through."""

    identity_key: str
    source_id: str
    url: str
    title: str
    body_text: str  # sanitised, plain text
    body_html: str  # sanitised HTML
    language: str
    published_at: datetime | None  # trusted publication time, UTC
    filed_at: datetime  # when the desk files it: published_at if trusted, else first seen
    first_seen_at: datetime
    backfill: bool  # old news: stored and judged, never "today", never notified, no heat
    content_hash: str
    guid: str = ""
    authors: tuple[str, ...] = ()
    signals: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    media: Media | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class EarlierStory:
    """One of the desk's stories filed before another one (store/repo.py: earlier_stories): what
    the editor reads of it to tell a follow-up paper (editor/rules.py: release_before)."""

    title: str
    lead: str  # the start of its body
    filed_at: datetime


@dataclass(frozen=True, slots=True)
class HKR:
    hook: bool
    knowledge: bool
    resonance: bool
    hook_reason: str = ""
    knowledge_reason: str = ""
    resonance_reason: str = ""

    @property
    def count(self) -> int:
        return int(self.hook) + int(self.knowledge) + int(self.resonance)


@dataclass(frozen=True, slots=True)
class Tags:
    capabilities: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return self.capabilities + self.topics + self.entities


@dataclass(frozen=True, slots=True)
class ScorePart:
    """One number code added to the editor's score, kept so a card can say where it came from:
    a policy bonus ("policy") or an editors' adjustment for a tag or source ("editors")."""

    points: int
    label: str
    origin: str  # "policy" or "editors"

    def as_dict(self) -> dict[str, Any]:
        return {"points": self.points, "label": self.label, "origin": self.origin}


@dataclass(frozen=True, slots=True)
class Judgement:
    """The editor's verdict on one story. Append-only: a re-judge adds a new one."""

    importance: int
    tier: Tier
    hkr: HKR
    tags: Tags
    title_en: str
    summary_en: str
    why: str
    editor: str  # "rules" or the model name
    policy_version: str
    title_zh: str = ""
    summary_zh: str = ""
    excluded_reason: str = ""
    breakdown: tuple[ScorePart, ...] = ()
    # why the rules editor judged in the model's place ("" when it did not): the story is
    # shown with this verdict and judged again by the model on a later pass
    fallback: str = ""


@dataclass(frozen=True, slots=True)
class Commentary:
    take_en: str = ""
    take_zh: str = ""
    sharp_en: str = ""
    sharp_zh: str = ""
    editor: str = ""


@dataclass(frozen=True, slots=True)
class StoryRef:
    """What grouping needs to know about a story already on the desk."""

    item_id: int
    event_id: int | None
    source_id: str
    url: str
    title: str
    text: str
    filed_at: datetime
    relation: str = "lead"  # its place in its event: lead, same_occurrence, same_story, manual


@dataclass(slots=True)
class GroupDecision:
    """Where a new story goes: an existing event, or a new one."""

    event_id: int | None  # None: start a new event
    relation: str  # "lead", "same_occurrence", "same_story", "roundup" (a roundup starts its own)
    similarity: float = 0.0
    matched_item_id: int | None = None
    reasons: list[str] = field(default_factory=list)
