"""The normalize stage: entries of one fetch become items, with freshness decided here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from newsdesk.domain import Entry, Item, Source
from newsdesk.normalize.identity import content_hash, identity_key
from newsdesk.normalize.text import (
    clean_title,
    detect_language,
    language_sample,
    sanitize_html,
    sanitized_to_text,
)


@dataclass(frozen=True)
class FreshnessRules:
    """From the policy's `[freshness]` table (DESIGN.md invariant 4)."""

    backfill_after_hours: int = 48
    first_import_max_items: int = 30
    first_import_window_days: int | None = 365  # None: no window (the 2025 demo snapshot)
    future_tolerance_minutes: int = 60


def trusted_date(published: datetime | None, now: datetime, rules: FreshnessRules) -> bool:
    if published is None:
        return False
    return published <= now + timedelta(minutes=rules.future_tolerance_minutes)


def _without_nul(value: Any) -> Any:
    """NUL characters out of every string: PostgreSQL text refuses them (nh3 already drops
    them from titles and bodies; links, guids, authors and signals come as the feed wrote)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(v) for v in value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def normalize_entry(entry: Entry, source: Source, now: datetime, rules: FreshnessRules) -> Item:
    entry = replace(
        entry,
        link=_without_nul(entry.link),
        guid=_without_nul(entry.guid),
        authors=_without_nul(entry.authors),
        signals=_without_nul(entry.signals),
    )
    body_html = sanitize_html(entry.content_html or entry.summary_html)
    body_text = sanitized_to_text(body_html)
    title = clean_title(entry.title) or body_text[:120]
    published = entry.published if trusted_date(entry.published, now, rules) else None
    late = published is not None and now - published > timedelta(hours=rules.backfill_after_hours)
    return Item(
        identity_key=identity_key(source.id, entry.link, entry.guid, title, body_text),
        source_id=source.id,
        url=entry.link,
        title=title,
        body_text=body_text,
        body_html=body_html,
        language=detect_language(language_sample(title, body_text), fallback=source.language),
        published_at=published,
        filed_at=published or now,
        first_seen_at=now,
        # Untrusted dates and late arrivals are old news: filed, never on "today".
        backfill=published is None or late,
        content_hash=content_hash(title, body_text),
        guid=entry.guid,
        authors=entry.authors,
        signals=dict(entry.signals),
        media=entry.media,
    )


# Below this many entries a thread hand-off costs more than it saves.
THREAD_FROM_ENTRIES = 8


async def normalize_entries(
    entries: list[Entry],
    source: Source,
    now: datetime,
    rules: FreshnessRules,
    first_import: bool = False,
) -> list[Item]:
    """Normalise one fetch. A source's first import keeps only its newest few, as backfill.

    The work (sanitising, language detection) is CPU-bound, so a large batch runs in a worker
    thread: the event loop keeps serving the other sources' fetches meanwhile."""
    if len(entries) < THREAD_FROM_ENTRIES:
        return normalize_batch(entries, source, now, rules, first_import)
    return await asyncio.to_thread(normalize_batch, entries, source, now, rules, first_import)


def normalize_batch(
    entries: list[Entry],
    source: Source,
    now: datetime,
    rules: FreshnessRules,
    first_import: bool = False,
) -> list[Item]:
    if not first_import:
        return [normalize_entry(e, source, now, rules) for e in entries]
    # The newest few are chosen from the entries' dates before the costly part (sanitising,
    # language): an arXiv listing's first import normalises 30 entries, not 500.
    dated = [(e, e.published if trusted_date(e.published, now, rules) else None) for e in entries]
    if rules.first_import_window_days is not None:
        oldest = now - timedelta(days=rules.first_import_window_days)
        dated = [(e, p) for e, p in dated if p is not None and p >= oldest]
    dated.sort(key=lambda pair: pair[1] or now, reverse=True)  # filed_at, as on the item
    newest = dated[: rules.first_import_max_items]
    return [_as_backfill(normalize_entry(e, source, now, rules)) for e, _ in newest]


def _as_backfill(item: Item) -> Item:
    return replace(item, backfill=True)
