"""Presets: common sources written in one line of a catalog, built on the kinds.

A catalog entry with `preset = "..."` gets its URL, kind, options and sensible group/tier
from here; anything the entry sets itself wins.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from newsdesk.domain import Entry

HN_ALGOLIA = "https://hn.algolia.com/api/v1/search_by_date?tags=front_page&hitsPerPage=50"


class PresetError(ValueError):
    pass


def _need(raw: dict[str, Any], key: str, preset: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PresetError(f"preset {preset!r} needs '{key}'")
    return value.strip()


def expand_preset(raw: dict[str, Any], rsshub_base: str = "https://rsshub.app") -> dict[str, Any]:
    """The catalog entry with the preset's defaults filled in."""
    preset = raw.get("preset")
    if not preset:
        return raw
    base: dict[str, Any]
    if preset == "arxiv":
        category = _need(raw, "category", preset)
        base = {"url": f"https://rss.arxiv.org/rss/{category}", "kind": "rss",
                "group": "research", "tier": "T1", "tags": ["arXiv", category]}  # fmt: skip
    elif preset == "hackernews":
        base = {
            "url": HN_ALGOLIA, "kind": "json_api", "group": "social", "tier": "T3",
            "options": {
                "items": "hits", "title": "title", "link": "url", "guid": "objectID",
                "date": "created_at_i", "authors": "author",
                "link_template": "https://news.ycombinator.com/item?id={objectID}",
                "signals": {"points": "points", "comments": "num_comments", "hn_id": "objectID"},
            },
        }  # fmt: skip
    elif preset == "github_releases":
        repo = _need(raw, "repo", preset)
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
            raise PresetError(f"preset 'github_releases' needs repo as OWNER/NAME, not {repo!r}")
        base = {"url": f"https://github.com/{repo}/releases.atom", "kind": "rss",
                "group": "vendor-official", "tier": "T1", "options": {"repo": repo}}  # fmt: skip
    elif preset == "youtube":
        channel = _need(raw, "channel_id", preset)
        base = {"url": f"https://www.youtube.com/feeds/videos.xml?channel_id={channel}",
                "kind": "rss", "group": "podcast", "tier": "T2"}  # fmt: skip
    elif preset == "rsshub":
        route = _need(raw, "route", preset)
        base = {"url": rsshub_base.rstrip("/") + "/" + route.lstrip("/"), "kind": "rss"}
    else:
        raise PresetError(
            f"unknown preset {preset!r} (arxiv, hackernews, github_releases, youtube, rsshub)"
        )
    options = {**base.pop("options", {}), **(raw.get("options") or {}), "preset": preset}
    return {**base, **raw, "options": options}


_HNRSS_POINTS = re.compile(r"Points:\s*(\d+)")
_HNRSS_COMMENTS = re.compile(r"#\s*Comments:\s*(\d+)")


def refine(entries: list[Entry], options: dict[str, Any]) -> list[Entry]:
    """Per-preset touches after parsing: what each kind of site means by its fields."""
    preset = options.get("preset")
    if preset == "github_releases":
        repo = str(options.get("repo", ""))
        return [
            e if repo.lower() in e.title.lower() else replace(e, title=f"{repo} {e.title}".strip())
            for e in entries
        ]
    if preset == "arxiv":
        # "Announce Type: new" lines and the arXiv id prefix are noise in a summary
        return [replace(e, summary_html=re.sub(r"^arXiv:\S+\s+Announce Type:\s*\w+\s*", "",
                                               e.summary_html)) for e in entries]  # fmt: skip
    out = []
    for e in entries:
        # hnrss feeds (any URL on hnrss.org) carry points and comments in the description
        points, comments = (
            _HNRSS_POINTS.search(e.summary_html),
            _HNRSS_COMMENTS.search(e.summary_html),
        )
        if points or comments:
            signals = dict(e.signals)
            if points:
                signals["points"] = int(points.group(1))
            if comments:
                signals["comments"] = int(comments.group(1))
            e = replace(e, signals=signals)
        out.append(e)
    return out
