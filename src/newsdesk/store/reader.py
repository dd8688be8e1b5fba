"""Writes the web desk makes for signed-in editors: sessions, saved stories, feedback, and the
admin's changes to sources, budgets and the policy. Reads for pages live in `publish`."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from newsdesk.store import schema as t
from newsdesk.store.policy import add_version, add_vote
from newsdesk.store.prepared import fetch_all

DEFAULT_COLLECTION = "Saved"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- sessions ----


def create_session(
    conn: Connection, token: str, csrf: str, now: datetime, expires: datetime
) -> None:
    conn.execute(delete(t.editor_sessions).where(t.editor_sessions.c.expires_at < now))
    conn.execute(
        insert(t.editor_sessions).values(
            token_hash=token_hash(token), csrf_token=csrf, created_at=now, expires_at=expires
        )
    )


def find_session(conn: Connection, token: str, now: datetime) -> Any | None:
    s = t.editor_sessions.c
    return conn.execute(
        select(t.editor_sessions).where(s.token_hash == token_hash(token), s.expires_at > now)
    ).first()


def session_csrf(conn: Connection, token: str, now: datetime) -> str | None:
    """The CSRF token of a live session (None when there is none): every signed-in request
    asks, so the statement is compiled once."""
    rows = fetch_all(conn, "session csrf", _session_csrf_query,
                     {"token_hash": token_hash(token), "now": now})  # fmt: skip
    return str(rows[0][0]) if rows else None


def _session_csrf_query() -> Any:
    s = t.editor_sessions.c
    return select(s.csrf_token).where(
        s.token_hash == bindparam("token_hash"),
        s.expires_at > bindparam("now", type_=t.TS),
    )


def end_session(conn: Connection, token: str) -> None:
    conn.execute(
        delete(t.editor_sessions).where(t.editor_sessions.c.token_hash == token_hash(token))
    )


# ---- saved stories ----


def collection_id(conn: Connection, name: str, now: datetime) -> int:
    c = t.collections.c
    found = conn.execute(select(c.id).where(c.name == name)).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            insert(t.collections).values(name=name, created_at=now).returning(c.id)
        ).scalar_one()
    )


def save_item(conn: Connection, item_id: int, collection: str, now: datetime) -> bool:
    """Put a story in a collection; False when it was there already."""
    cid = collection_id(conn, collection, now)
    s = t.saved_items.c
    if conn.execute(select(s.item_id).where(s.collection_id == cid, s.item_id == item_id)).first():
        return False
    conn.execute(insert(t.saved_items).values(collection_id=cid, item_id=item_id, saved_at=now))
    return True


def unsave_item(conn: Connection, item_id: int, collection: str | None) -> None:
    """Take a story out of one collection, or out of all of them when none is named."""
    c, s = t.collections.c, t.saved_items.c
    query = delete(t.saved_items).where(s.item_id == item_id)
    if collection:
        query = query.where(s.collection_id.in_(select(c.id).where(c.name == collection)))
    conn.execute(query)


# ---- feedback ----


def add_feedback(
    conn: Connection, item_id: int, kind: str, note: str, editor: str, now: datetime
) -> None:
    """A vote from the desk, kept with the judgement the story had when it was cast."""
    add_vote(conn, item_id, kind, note, editor, now)


# ---- admin: sources ----


def override_source(
    conn: Connection, source_id: str, now: datetime, enabled: bool | None, tier: str | None
) -> None:
    """Record the editor's choice and apply it now; `apply_source_overrides` keeps it later."""
    o = t.source_overrides.c
    row = conn.execute(select(t.source_overrides).where(o.source_id == source_id)).first()
    values = {
        "enabled": enabled if enabled is not None else (row.enabled if row else None),
        "tier": tier if tier is not None else (row.tier if row else None),
        "updated_at": now,
    }
    if row:
        conn.execute(update(t.source_overrides).where(o.source_id == source_id).values(**values))
    else:
        conn.execute(insert(t.source_overrides).values(source_id=source_id, **values))
    apply_source_overrides(conn)


def apply_source_overrides(conn: Connection) -> None:
    """Editors' overrides beat the catalog file (called after every catalog upsert)."""
    for row in conn.execute(select(t.source_overrides)).all():
        values: dict[str, Any] = {}
        if row.enabled is not None:
            values["enabled"] = row.enabled
        if row.tier:
            values["tier"] = row.tier
        if values:
            conn.execute(update(t.sources).where(t.sources.c.id == row.source_id).values(**values))


# ---- admin: budgets and policy versions ----


def set_budget(
    conn: Connection,
    service: str,
    window: str,
    max_calls: int | None,
    max_tokens: int | None,
    max_cost: float | None,
) -> None:
    b = t.budgets.c
    values = {"max_calls": max_calls, "max_tokens": max_tokens, "max_cost": max_cost}
    found = conn.execute(select(b.id).where(b.service == service, b.window == window)).scalar()
    if found is None:
        conn.execute(insert(t.budgets).values(service=service, window=window, **values))
    else:
        conn.execute(update(t.budgets).where(b.id == found).values(**values))


def add_policy_version(
    conn: Connection, version: str, text: str, now: datetime, editor: str = ""
) -> bool:
    """A version an editor wrote in the admin page; a draft until someone activates it."""
    return add_version(conn, version, text, now, origin="admin", created_by=editor)[1]
