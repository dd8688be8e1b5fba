"""Public lists for the API and agents: the sources the desk follows and the tags in use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from newsdesk.store import outputs


def sources(conn: Connection) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "name_zh": r["name_zh"],
            "kind": r["kind"],
            "group": r["group_name"],
            "language": r["language"],
            "tier": r["tier"],
            "status": r["status"],
            "public_stories": r["stories"],
            "last_success_at": r["last_success_at"].isoformat() if r["last_success_at"] else None,
        }
        for r in outputs.public_sources(conn)
    ]


def tags(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    return [{"tag": tag, "stories": n} for tag, n in outputs.tag_counts(conn, limit)]
