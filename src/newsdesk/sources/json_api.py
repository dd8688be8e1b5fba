"""The `json_api` kind: dot-paths into a JSON answer.

Options: `items` (path to the list; empty: the answer is the list), `title`, `link`, `guid`,
`date`, `summary`, `authors` (paths inside one item), `link_template` (e.g.
"https://news.ycombinator.com/item?id={objectID}", used when `link` is missing), and `signals`
(name → path: numbers such as points and comment counts kept beside the story).
The source URL may hold `{since}` (Unix time 7 days ago) and `{today}` (YYYY-MM-DD).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from newsdesk.domain import Entry, Source
from newsdesk.sources.dates import parse_date
from newsdesk.sources.rss import NotAFeed


def dig(data: Any, path: str | None) -> Any:
    """`a.b.0.c` into nested dicts and lists; None when any step is missing."""
    if not path:
        return data
    for step in path.split("."):
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _template(template: str, item: dict[str, Any]) -> str:
    """`{a.b}` placeholders filled from the item's dot-paths."""
    return _PLACEHOLDER.sub(lambda m: str(dig(item, m.group(1)) or ""), template)


def expand_url(url: str, now: datetime) -> str:
    if "{" not in url:
        return url
    since = int((now - timedelta(days=7)).timestamp())
    return url.replace("{since}", str(since)).replace("{today}", now.date().isoformat())


def parse_json_api(source: Source, body: bytes, base_url: str = "") -> list[Entry]:
    options = source.options
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NotAFeed("parse_error", f"not JSON: {exc}") from None
    items = dig(data, options.get("items"))
    if not isinstance(items, list):
        raise NotAFeed("not_a_feed", f"no list at {options.get('items')!r} in the JSON answer")
    entries = []
    for raw in items:
        if not isinstance(raw, dict):
            continue
        link = str(dig(raw, options.get("link", "url")) or "")
        if not link and options.get("link_template"):
            link = _template(str(options["link_template"]), raw)
        title = str(dig(raw, options.get("title", "title")) or "").strip()
        guid = str(dig(raw, options.get("guid", "id")) or "")
        if not (title or link):
            continue
        authors = dig(raw, options.get("authors")) if options.get("authors") else None
        if isinstance(authors, str):
            authors = [authors]
        signals = {
            name: value
            for name, path in (options.get("signals") or {}).items()
            if (value := dig(raw, str(path))) is not None
        }
        summary = dig(raw, options.get("summary")) if options.get("summary") else ""
        entries.append(
            Entry(
                source_id=source.id,
                title=title,
                link=link,
                guid=guid,
                published=parse_date(dig(raw, options.get("date", "date"))),
                summary_html=str(summary or ""),
                authors=tuple(str(a) for a in authors or () if a),
                signals=signals,
            )
        )
    return entries
