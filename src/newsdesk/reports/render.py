"""Markdown for briefs and reports. Story text is quoted as data: Markdown syntax in a title
or summary is escaped so a source cannot inject links or headings into the brief."""

from __future__ import annotations

import re
from typing import Any

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>#|!])")


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _link(url: str) -> str:
    # Angle brackets keep any parenthesis in the URL from ending the link.
    return "<" + url.replace(">", "%3E").replace(" ", "%20") + ">"


def _entry(n: int, e: dict[str, Any], base_url: str, level: str) -> list[str]:
    meta = f"{e['tier'].upper()} · {md_escape(e['source_name'])} · importance {e['importance']}"
    if e.get("coverage", 1) > 1:
        meta += f" · {e['coverage']} sources"
    if e.get("day"):
        meta += f" · {e['day']}"
    lines = [f"{level} {n}. [{md_escape(e['title'])}]({_link(e['url'])})", "", meta, ""]
    if e.get("summary"):
        lines += [md_escape(e["summary"]), ""]
    page = f"{base_url}/items/{e['item_id']}"
    return [*lines, f"[On newsdesk]({_link(page)})", ""]


def render_markdown(data: dict[str, Any], base_url: str) -> str:
    lines = [f"# {md_escape(data['title'])}", ""]
    if data.get("overview"):
        # Model-written (weekly/monthly only) and checked by the faithfulness guard.
        lines += ["## Overview", "", md_escape(data["overview"]), ""]
    entries = data.get("entries", [])
    if not entries:
        lines += ["No public stories were filed in this period.", ""]
    sections = data.get("sections")
    if sections:
        by_id = {e["item_id"]: e for e in entries}
        n = 0
        for section in sections:
            lines += [f"## {md_escape(section['name'])}", ""]
            if section.get("intro"):
                lines += [md_escape(section["intro"]), ""]
            for item_id in section["item_ids"]:
                if item_id in by_id:
                    n += 1
                    lines += _entry(n, by_id[item_id], base_url, "###")
    else:
        for n, e in enumerate(entries, 1):
            lines += _entry(n, e, base_url, "##")
    flashes = data.get("flashes", [])
    if flashes:
        lines += ["## Flashes", ""]
        lines += [
            f"- [{md_escape(f['title'])}]({_link(f['url'])}) · {md_escape(f['source_name'])}"
            for f in flashes
        ]
        lines.append("")
    return "\n".join(lines)
