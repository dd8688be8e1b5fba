"""Everything the desk holds about one person, as data (`export`), and its removal (`delete`).

A deleted person's votes stay, with their judgement snapshots, so the policy history stays
true; the account behind them becomes an anonymous label (`deleted-…`), one per deleted
account, so votes from one person still count as one voter. The same label replaces their
name in the record of desk actions and in the policy history.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from newsdesk.store import schema as t
from newsdesk.store.users import User


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query).all()]


def export(conn: Connection, user: User) -> dict[str, Any]:
    """One person's data: account, sessions, follows, saves, votes, alert targets, feed
    addresses (when made; the secret is not kept), read marks, actions."""
    s, f, c, si, fb = (t.editor_sessions.c, t.follows.c, t.collections.c, t.saved_items.c,
                       t.feedback.c)  # fmt: skip
    i = t.items.c
    saved = _rows(
        conn,
        select(c.name.label("collection"), si.item_id, i.url, i.title, si.saved_at)
        .join(t.saved_items, si.collection_id == c.id)
        .join(t.items, i.id == si.item_id)
        .where(c.user_id == user.id)
        .order_by(si.saved_at),
    )
    return {
        "account": {
            "name": user.name, "role": user.role, "disabled": user.disabled,
            "bootstrap": user.bootstrap, "created_at": user.created_at,
        },
        "sessions": _rows(conn, select(s.created_at, s.expires_at, s.address, s.user_agent)
                          .where(s.user_id == user.id)),
        "follows": _rows(conn, select(f.kind, f.target, f.alert, f.created_at, f.seen_at)
                         .where(f.user_id == user.id).order_by(f.id)),
        "collections": _rows(conn, select(c.name, c.created_at).where(c.user_id == user.id)),
        "saved": saved,
        "votes": _rows(conn, select(fb.item_id, fb.kind, fb.note, fb.created_at, fb.tier,
                                    fb.importance, fb.policy_version)
                       .where(fb.user_id == user.id).order_by(fb.id)),
        "alert_targets": _rows(conn, select(t.alert_targets.c.url, t.alert_targets.c.label,
                                            t.alert_targets.c.created_at)
                               .where(t.alert_targets.c.user_id == user.id)),
        "feed_addresses": _rows(conn, select(t.feed_tokens.c.created_at)
                                .where(t.feed_tokens.c.user_id == user.id)),
        "reader_marks": _rows(conn, select(t.user_marks.c.item_id, t.user_marks.c.read,
                                           t.user_marks.c.starred, t.user_marks.c.updated_at)
                              .where(t.user_marks.c.user_id == user.id)),
        "desk_actions": _rows(conn, select(t.desk_actions.c.action, t.desk_actions.c.ref,
                                           t.desk_actions.c.detail, t.desk_actions.c.created_at)
                              .where(t.desk_actions.c.user_id == user.id)),
    }  # fmt: skip


def delete_person(conn: Connection, user: User, now: datetime) -> str:
    """Remove the account and everything that is only theirs; returns the anonymous label
    their votes and actions now carry."""
    label = f"deleted-{secrets.token_hex(4)}"
    fb, a = t.feedback.c, t.desk_actions.c
    conn.execute(update(t.feedback).where(fb.user_id == user.id).values(user_id=None, editor=label))
    conn.execute(update(t.desk_actions).where(a.user_id == user.id)
                 .values(user_id=None, account=label))  # fmt: skip
    conn.execute(update(t.policy_activations).where(t.policy_activations.c.editor == user.name)
                 .values(editor=label))  # fmt: skip
    conn.execute(update(t.policy_versions).where(t.policy_versions.c.created_by == user.name)
                 .values(created_by=label))  # fmt: skip
    conn.execute(update(t.policy_jobs).where(t.policy_jobs.c.requested_by == user.name)
                 .values(requested_by=label))  # fmt: skip
    # explicit, not left to ON DELETE CASCADE: the same on every engine and connection
    ids = select(t.collections.c.id).where(t.collections.c.user_id == user.id)
    conn.execute(delete(t.saved_items).where(t.saved_items.c.collection_id.in_(ids)))
    for table in (t.collections, t.editor_sessions, t.follows, t.feed_tokens, t.alert_targets,
                  t.user_marks):  # fmt: skip
        conn.execute(delete(table).where(table.c.user_id == user.id))
    n = t.notifications.c
    conn.execute(delete(t.notifications).where(n.kind.in_(("alert", "digest")),
                                               n.ref.startswith(f"{user.id}:")))  # fmt: skip
    conn.execute(delete(t.users).where(t.users.c.id == user.id))
    return label
