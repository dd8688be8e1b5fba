"""Catalog files: TOML `[[source]]` tables that describe where stories come from."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from newsdesk.domain import SOURCE_GROUPS, SOURCE_KINDS, Source, SourceTier
from newsdesk.sources.presets import PresetError, expand_preset

DEMO_DIR = Path(__file__).with_name("demo")
DEMO_CATALOG = DEMO_DIR / "catalog.toml"
DEMO_FEEDS = DEMO_DIR / "feeds"


class CatalogError(ValueError):
    """A catalog entry is wrong; the message names the file, the source and the field."""


# Polling bounds in minutes per group, when an entry sets none: the cadence adapts between them
# (busy feeds near the lower bound, quiet ones near the upper).
GROUP_CADENCE = {
    "vendor-official": (30, 1440),
    "media": (15, 720),
    "newsletter": (60, 1440),
    "research": (60, 1440),
    "social": (15, 360),
    "podcast": (120, 1440),
    "policy": (120, 1440),
}
KIND_KEYS = {"item", "link", "title", "date", "summary", "detail", "items", "guid", "authors",
             "link_template", "signals"}  # fmt: skip


def _source(
    raw: dict[str, Any], where: str, base: str, rsshub_base: str = "", wewe_base: str = ""
) -> Source:
    try:
        raw = expand_preset(raw, rsshub_base or "https://rsshub.app", wewe_base)
    except PresetError as exc:
        raise CatalogError(f"{where}: {exc}") from None

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
    low, high = GROUP_CADENCE[group]
    options = dict(raw.get("options") or {})
    # selectors and dot-paths may also sit at the top level of an entry
    options |= {k: v for k, v in raw.items() if k in KIND_KEYS}
    if kind == "web_list" and not options.get("item"):
        raise CatalogError(f"{where}: a web_list source needs an 'item' selector")
    return Source(
        id=need("id"),
        name=need("name"),
        url=need("url").replace("{demo}", base),
        kind=kind,
        name_zh=str(raw.get("name_zh", "")),
        group=group,
        language=str(raw.get("language", "en")),
        tier=SourceTier(raw.get("tier", "T2")),
        cadence_min=int(raw.get("cadence_min", low)),
        cadence_max=int(raw.get("cadence_max", high)),
        tags=tuple(raw.get("tags", ())),
        enabled=bool(raw.get("enabled", True)),
        notes=str(raw.get("notes", "")),
        options=options,
    )


def load_catalog(
    path: str | Path, demo_base: str = "", rsshub_base: str = "", wewe_base: str = ""
) -> list[Source]:
    """Read a catalog file. `demo_base` replaces `{demo}` in URLs (the local demo server);
    `rsshub_base` is where `preset = "rsshub"` (and "x", "wechat") routes are served
    (NEWSDESK_RSSHUB_BASE); `wewe_base` a wewe-rss instance (NEWSDESK_WEWE_RSS_BASE)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"catalog {path} is not valid TOML: {exc}") from None
    sources = [
        _source(
            raw, f"{path} source #{n + 1} ({raw.get('id', '?')})", demo_base, rsshub_base, wewe_base
        )
        for n, raw in enumerate(data.get("source", []))
    ]
    ids = [s.id for s in sources]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogError(f"{path}: duplicate source ids {', '.join(duplicates)}")
    return sources
