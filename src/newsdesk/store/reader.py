"""Writes the web desk makes for signed-in people: saved stories, feedback, and the admin's
changes to sources, budgets and the policy (sessions and accounts: `store/users.py`). Reads
for pages live in `publish`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from newsdesk.store import schema as t
from newsdesk.store.policy import add_version, add_vote

DEFAULT_COLLECTION = "Saved"


# ---- saved stories ----


def collection_id(conn: Connection, user_id: int, name: str, now: datetime) -> int:
    c = t.collections.c
    found = conn.execute(select(c.id).where(c.user_id == user_id, c.name == name)).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            insert(t.collections).values(user_id=user_id, name=name, created_at=now).returning(c.id)
        ).scalar_one()
    )


def save_item(conn: Connection, user_id: int, item_id: int, collection: str, now: datetime) -> bool:
    """Put a story in one of a person's collections; False when it was there already."""
    cid = collection_id(conn, user_id, collection, now)
    s = t.saved_items.c
    if conn.execute(select(s.item_id).where(s.collection_id == cid, s.item_id == item_id)).first():
        return False
    conn.execute(insert(t.saved_items).values(collection_id=cid, item_id=item_id, saved_at=now))
    return True


def unsave_item(conn: Connection, user_id: int, item_id: int, collection: str | None) -> None:
    """Take a story out of one of a person's collections, or out of all of theirs."""
    c, s = t.collections.c, t.saved_items.c
    mine = select(c.id).where(c.user_id == user_id)
    if collection:
        mine = mine.where(c.name == collection)
    conn.execute(delete(t.saved_items).where(s.item_id == item_id, s.collection_id.in_(mine)))


# ---- feedback ----


def add_feedback(
    conn: Connection, item_id: int, kind: str, note: str, editor: str, now: datetime,
    user_id: int | None = None,
) -> None:  # fmt: skip
    """A vote from the desk, kept with the judgement the story had when it was cast and the
    account that cast it."""
    add_vote(conn, item_id, kind, note, editor, now, user_id=user_id)


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
