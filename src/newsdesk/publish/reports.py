"""Reading stored reports (daily, weekly, monthly) for pages, feeds, the API and MCP."""

from __future__ import annotations

from html import escape
from typing import Any

from sqlalchemy import Connection

from newsdesk.store import outputs


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    data = row["data"] or {}
    return {
        "kind": row["kind"],
        "period": row["period"],
        "title": data.get("title") or f"{row['kind']} {row['period']}",
        "markdown": row["markdown"],
        "data": data,
        "created_at": row["created_at"],
    }


def list_reports(conn: Connection, kind: str, limit: int = 60) -> list[dict[str, Any]]:
    return [_shape(r) for r in outputs.list_reports(conn, kind, limit)]


def get_report(conn: Connection, kind: str, period: str) -> dict[str, Any] | None:
    row = outputs.get_report(conn, kind, period)
    return _shape(row) if row else None


def latest_report(conn: Connection, kind: str) -> dict[str, Any] | None:
    rows = outputs.list_reports(conn, kind, limit=1)
    return _shape(rows[0]) if rows else None


def api_report(report: dict[str, Any]) -> dict[str, Any]:
    data = report["data"]
    return {
        "kind": report["kind"],
        "period": report["period"],
        "title": report["title"],
        "overview": data.get("overview"),
        "entries": data.get("entries", []),
        "flashes": data.get("flashes", []),
        "markdown": report["markdown"],
    }


def report_html(data: dict[str, Any], base_url: str) -> str:
    """The report as escaped HTML, for feed entries."""
    parts = []
    if data.get("overview"):
        parts.append(f"<p>{escape(data['overview'])}</p>")
    entries = data.get("entries", [])
    if not entries:
        parts.append("<p>No public stories were filed in this period.</p>")
    parts.append("<ol>")
    for e in entries:
        parts.append(
            f'<li><a href="{escape(e["url"])}">{escape(e["title"])}</a> '
            f"({escape(e['source_name'])}, {escape(e['tier'])}, {int(e['importance'])})"
            + (f"<br>{escape(e['summary'])}" if e.get("summary") else "")
            + f' <a href="{escape(base_url)}/items/{int(e["item_id"])}">on newsdesk</a></li>'
        )
    parts.append("</ol>")
    flashes = data.get("flashes", [])
    if flashes:
        parts.append("<h3>Flashes</h3><ul>")
        parts += [
            f'<li><a href="{escape(f["url"])}">{escape(f["title"])}</a> '
            f"({escape(f['source_name'])})</li>"
            for f in flashes
        ]
        parts.append("</ul>")
    return "".join(parts)
