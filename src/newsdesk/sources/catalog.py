"""Catalog files: TOML `[[source]]` tables that describe where stories come from."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from newsdesk.domain import SOURCE_GROUPS, SOURCE_KINDS, Source, SourceTier

DEMO_DIR = Path(__file__).with_name("demo")
DEMO_CATALOG = DEMO_DIR / "catalog.toml"
DEMO_FEEDS = DEMO_DIR / "feeds"


class CatalogError(ValueError):
    """A catalog entry is wrong; the message names the file, the source and the field."""


def _source(raw: dict[str, Any], where: str, base: str) -> Source:
    def need(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{where}: missing or empty '{key}'")
        return value.strip()

    kind = raw.get("kind", "rss")
    if kind not in SOURCE_KINDS:
        raise CatalogError(f"{where}: kind {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    group = raw.get("group", "media")
    if group not in SOURCE_GROUPS:
        raise CatalogError(f"{where}: group {group!r} is not one of {', '.join(SOURCE_GROUPS)}")
    tiers = [t.value for t in SourceTier]
    if raw.get("tier", "T2") not in tiers:
        raise CatalogError(f"{where}: tier {raw.get('tier')!r} is not one of {', '.join(tiers)}")
    return Source(
        id=need("id"),
        name=need("name"),
        url=need("url").replace("{demo}", base),
        kind=kind,
        name_zh=str(raw.get("name_zh", "")),
        group=group,
        language=str(raw.get("language", "en")),
        tier=SourceTier(raw.get("tier", "T2")),
        cadence_min=int(raw.get("cadence_min", 15)),
        cadence_max=int(raw.get("cadence_max", 1440)),
        tags=tuple(raw.get("tags", ())),
        enabled=bool(raw.get("enabled", True)),
        notes=str(raw.get("notes", "")),
    )


def load_catalog(path: str | Path, demo_base: str = "") -> list[Source]:
    """Read a catalog file. `demo_base` replaces `{demo}` in URLs (the local demo server)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog {path} is not valid TOML: {exc}") from None
    sources = [
        _source(raw, f"{path} source #{n + 1} ({raw.get('id', '?')})", demo_base)
        for n, raw in enumerate(data.get("source", []))
    ]
    ids = [s.id for s in sources]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogError(f"{path}: duplicate source ids {', '.join(duplicates)}")
    return sources
