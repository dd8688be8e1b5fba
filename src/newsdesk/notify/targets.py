"""NEWSDESK_NOTIFY_URLS: apprise URLs separated by spaces or newlines, each optionally led by
a filter in braces, e.g. `{tier=p1,featured;tag=Agent,Safety;brief=no}json://host/hook`.

Defaults: tier=p1, any tag, brief=yes. A target's key is a hash of its URL, so the outbox and
the logs never hold the URL (apprise URLs carry tokens).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from newsdesk.config import ConfigError

STORY_TIERS = ("p1", "featured")
_ENTRY = re.compile(r"^(?:\{(?P<filters>[^}]*)\})?(?P<url>\S+)$")


@dataclass(frozen=True)
class Target:
    url: str
    tiers: frozenset[str] = frozenset({"p1"})
    tags: frozenset[str] = frozenset()
    brief: bool = True

    @property
    def key(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """Safe to print: the scheme and the key, never the URL."""
        return f"{self.url.split('://', 1)[0]}://… ({self.key})"

    def wants(self, tier: str, tags: list[str]) -> bool:
        if tier not in self.tiers:
            return False
        return not self.tags or bool(self.tags & set(tags))


def parse_targets(value: str) -> list[Target]:
    targets = []
    for n, raw in enumerate(value.split(), 1):
        match = _ENTRY.match(raw)
        if not match or "://" not in match["url"]:
            raise ConfigError(f"NEWSDESK_NOTIFY_URLS entry {n} is not an apprise URL")
        options: dict[str, str] = {}
        for part in (match["filters"] or "").split(";"):
            if part.strip():
                key, _, val = part.partition("=")
                options[key.strip()] = val.strip()
        unknown = set(options) - {"tier", "tag", "brief"}
        if unknown:
            raise ConfigError(
                f"NEWSDESK_NOTIFY_URLS entry {n}: unknown filter {sorted(unknown)[0]!r}; "
                "use tier=, tag= or brief="
            )
        tiers = frozenset(x for x in options.get("tier", "p1").split(",") if x)
        if not tiers or not tiers <= set(STORY_TIERS):
            raise ConfigError(f"NEWSDESK_NOTIFY_URLS entry {n}: tier must be p1 and/or featured")
        tags = frozenset(x for x in options.get("tag", "").split(",") if x)
        brief = options.get("brief", "yes").lower() not in ("no", "false", "0")
        targets.append(Target(match["url"], tiers, tags, brief))
    return targets
