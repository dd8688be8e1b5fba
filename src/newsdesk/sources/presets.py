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


_HANDLE = re.compile(r"@?([A-Za-z0-9_]{1,15})")
_LIST = re.compile(r"\d{1,25}")
_ACCOUNT = re.compile(r"[\w.-]{1,100}")
# RSSHub's WeChat routes read third-party mirrors of official accounts; CareerEngine's is the
# default, any other can be named with `route` ({account} is replaced)
WECHAT_ROUTE = "/wechat/ce/{account}"


def _x(raw: dict[str, Any], rsshub_base: str) -> dict[str, Any]:
    """An X account (`handle`) or list (`list`) through RSSHub's twitter routes."""
    if raw.get("list"):
        listed = str(raw["list"]).strip()
        if not _LIST.fullmatch(listed):
            raise PresetError(f"preset 'x' needs list as a numeric list id, not {listed!r}")
        route, name = f"/twitter/list/{listed}", f"X list {listed}"
    else:
        handle = _need(raw, "handle", "x")
        m = _HANDLE.fullmatch(handle)
        if not m:
            raise PresetError(f"preset 'x' needs handle as @NAME (letters, digits, _), "
                              f"not {handle!r}")  # fmt: skip
        route, name = f"/twitter/user/{m.group(1)}", f"@{m.group(1)} on X"
    return {"url": rsshub_base.rstrip("/") + route, "kind": "rss", "group": "social",
            "tier": "T3", "name": name}  # fmt: skip


def _wechat(raw: dict[str, Any], rsshub_base: str, wewe_base: str) -> dict[str, Any]:
    """A WeChat official account: through a wewe-rss instance when `via = "wewe-rss"` (its
    feed id, MP_WXS_…), else through an RSSHub route."""
    account = _need(raw, "account", "wechat")
    if not _ACCOUNT.fullmatch(account):
        raise PresetError(f"preset 'wechat' needs account as a name or feed id, not {account!r}")
    via = str(raw.get("via") or ("wewe-rss" if wewe_base else "rsshub"))
    if via == "wewe-rss":
        if not wewe_base:
            raise PresetError("preset 'wechat' via wewe-rss needs NEWSDESK_WEWE_RSS_BASE")
        url = f"{wewe_base.rstrip('/')}/feeds/{account}.rss"
    elif via == "rsshub":
        route = str(raw.get("route") or WECHAT_ROUTE)
        url = rsshub_base.rstrip("/") + "/" + route.replace("{account}", account).lstrip("/")
    else:
        raise PresetError(f"preset 'wechat' reads via 'rsshub' or 'wewe-rss', not {via!r}")
    return {"url": url, "kind": "rss", "group": "social", "tier": "T3", "language": "zh",
            "name": f"{account} (WeChat)"}  # fmt: skip


def shorthand(spec: str) -> dict[str, Any] | None:
    """`x:@handle`, `x:list:ID` or `wechat:NAME` as a catalog entry's preset fields; None for
    anything else (a URL)."""
    kind, _, rest = spec.partition(":")
    if kind == "x" and rest:
        if rest.startswith("list:"):
            return {"preset": "x", "list": rest[5:]}
        return {"preset": "x", "handle": rest}
    if kind == "wechat" and rest:
        return {"preset": "wechat", "account": rest}
    return None


def expand_preset(
    raw: dict[str, Any], rsshub_base: str = "https://rsshub.app", wewe_base: str = ""
) -> dict[str, Any]:
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
    elif preset == "x":
        base = _x(raw, rsshub_base)
    elif preset == "wechat":
        base = _wechat(raw, rsshub_base, wewe_base)
    else:
        raise PresetError(
            f"unknown preset {preset!r} "
            "(arxiv, hackernews, github_releases, youtube, rsshub, x, wechat)"
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
