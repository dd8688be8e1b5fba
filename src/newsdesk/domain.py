"""Plain types shared by every stage. No I/O, no imports from the rest of newsdesk.

Stages take and return these objects, so each stage can be tested without a database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit


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
