"""What each person follows: an event, a tag, an entity, a source or a saved search; when they
last looked at it (`seen_at`), and how they want to hear of it (`alert`).

A followed event is *new since you looked* when a story with new facts joined it after
`seen_at`: a development (the grouping step's `same_story` relation), a first-party (T1)
report, or a repeat that reports a different figure (`event_members.new_number`, set by the
grouping step); one more outlet repeating the same happening (`same_occurrence`) is not news.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from newsdesk.domain import is_row_id
from newsdesk.store import schema as t

KINDS = ("event", "tag", "entity", "source", "search")
ALERTS = ("off", "immediate", "daily", "weekly")
NEW_FACTS = ("same_story",)  # the grouping step's development relation
FIRST_PARTY = "T1"


class FollowError(ValueError):
    """A follow this desk cannot keep; the message says why."""


def check(conn: Connection, kind: str, target: str) -> str:
    """The target as stored, or FollowError."""
    if kind not in KINDS:
        raise FollowError(f"kind must be one of {', '.join(KINDS)}")
    target = " ".join(target.split())[:300]
    if not target:
        raise FollowError("nothing to follow")
    if kind == "event":
        if not target.isdigit() or not is_row_id(int(target)):
            raise FollowError("no such event")
        if conn.execute(select(t.events.c.id).where(t.events.c.id == int(target))).first() is None:
            raise FollowError("no such event")
    if kind == "source":
        found = conn.execute(select(t.sources.c.id).where(t.sources.c.id == target)).first()
        if found is None:
            raise FollowError("no such source")
    return target


def follow(conn: Connection, user_id: int, kind: str, target: str, now: datetime) -> int:
    """Follow (idempotent); returns the follow's id. Everything before now counts as seen."""
    target = check(conn, kind, target)
    f = t.follows.c
    found = conn.execute(
        select(f.id).where(f.user_id == user_id, f.kind == kind, f.target == target)
    ).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            insert(t.follows)
            .values(
                user_id=user_id, kind=kind, target=target, alert="off", created_at=now, seen_at=now
            )
            .returning(f.id)
        ).scalar_one()
    )


def unfollow(conn: Connection, user_id: int, kind: str, target: str) -> None:
    f = t.follows.c
    target = " ".join(target.split())[:300]
    conn.execute(delete(t.follows).where(f.user_id == user_id, f.kind == kind, f.target == target))


def of(conn: Connection, user_id: int) -> list[Any]:
    f = t.follows.c
    return list(
        conn.execute(select(t.follows).where(f.user_id == user_id).order_by(f.kind, f.target)).all()
    )


def pairs(conn: Connection, user_id: int) -> frozenset[tuple[str, str]]:
    """Everything the person follows, as (kind, target): a few dozen rows at most, read once
    per page so every card's follow buttons can say which are followed."""
    f = t.follows.c
    rows = conn.execute(select(f.kind, f.target).where(f.user_id == user_id))
    return frozenset((r.kind, r.target) for r in rows)


def followed(conn: Connection, user_id: int, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (kind, target) the person follows."""
    if not pairs:
        return set()
    f = t.follows.c
    wanted = or_(*(and_(f.kind == k, f.target == v) for k, v in pairs))
    rows = conn.execute(select(f.kind, f.target).where(f.user_id == user_id, wanted))
    return {(r.kind, r.target) for r in rows}


def seen(conn: Connection, user_id: int, now: datetime, follow_ids: list[int] | None = None,
         event_id: int | None = None) -> None:  # fmt: skip
    """The person looked: at these follows (all of theirs when None), or at one event."""
    f = t.follows.c
    query = update(t.follows).where(f.user_id == user_id)
    if event_id is not None:
        query = query.where(f.kind == "event", f.target == str(event_id))
    elif follow_ids is not None:
        if not follow_ids:
            return
        query = query.where(f.id.in_(follow_ids))
    conn.execute(query.values(seen_at=now))


def set_alert(conn: Connection, user_id: int, follow_id: int, alert: str) -> bool:
    if alert not in ALERTS:
        raise FollowError(f"alert must be one of {', '.join(ALERTS)}")
    f = t.follows.c
    done = conn.execute(
        update(t.follows).where(f.user_id == user_id, f.id == follow_id).values(alert=alert)
    )
    return bool(done.rowcount)


def event_marks(conn: Connection, user_id: int, event_ids: list[int]) -> dict[int, bool]:
    """For each of these events the person follows: True when a story with new facts joined
    it since they last looked (see the module's note), else False. Unfollowed ones are left
    out."""
    if not event_ids:
        return {}
    f = t.follows.c
    rows = conn.execute(
        select(f.target, f.seen_at).where(
            f.user_id == user_id, f.kind == "event",
            f.target.in_([str(e) for e in dict.fromkeys(event_ids)]),
        )
    ).all()  # fmt: skip
    seen_at = {int(r.target): r.seen_at for r in rows}
    if not seen_at:
        return {}
    fresh = fresh_events(conn, seen_at)
    return {e: e in fresh for e in seen_at}


def fresh_events(conn: Connection, seen_at: dict[int, datetime]) -> set[int]:
    """The events among `seen_at`'s keys with a new-facts story added after the time given."""
    m, i, s = t.event_members.c, t.items.c, t.sources.c
    since = min(seen_at.values())
    rows = conn.execute(
        select(m.event_id, m.added_at)
        .join(t.items, i.id == m.item_id)
        .join(t.sources, s.id == i.source_id)
        .where(
            m.event_id.in_(list(seen_at)), m.added_at > since,
            _news(),
        )
    ).all()  # fmt: skip
    return {r.event_id for r in rows if r.added_at > seen_at[r.event_id]}


# ---- personal feed tokens: the secret in a personal feed's URL, kept as its SHA-256 ----


def new_feed_token(conn: Connection, user_id: int, now: datetime) -> str:
    """A new personal feed URL's token (the old ones keep working until revoked)."""
    token = secrets.token_urlsafe(24)
    conn.execute(
        insert(t.feed_tokens).values(token_hash=_sha(token), user_id=user_id, created_at=now)
    )
    return token


def feed_tokens(conn: Connection, user_id: int) -> list[Any]:
    ft = t.feed_tokens.c
    return list(
        conn.execute(
            select(ft.token_hash, ft.created_at)
            .where(ft.user_id == user_id)
            .order_by(ft.created_at.desc())
        ).all()
    )


def revoke_feed_tokens(conn: Connection, user_id: int) -> int:
    done = conn.execute(delete(t.feed_tokens).where(t.feed_tokens.c.user_id == user_id))
    return int(done.rowcount or 0)


def feed_owner(conn: Connection, token: str) -> Any | None:
    """The account a personal feed token belongs to (None: unknown, revoked, or disabled)."""
    ft, u = t.feed_tokens.c, t.users.c
    row = conn.execute(
        select(u.id, u.name)
        .join(t.feed_tokens, ft.user_id == u.id)
        .where(ft.token_hash == _sha(token), u.disabled.is_(False))
    ).first()
    return row


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- alert targets: a person's apprise URLs (their own; admins see only how many) ----


def add_alert_target(conn: Connection, user_id: int, url: str, label: str, now: datetime) -> int:
    url = url.strip()
    if "://" not in url or len(url) > 2000 or any(ch.isspace() for ch in url):
        raise FollowError("an alert target is one apprise URL, such as mailto://… or ntfy://…")
    return int(
        conn.execute(
            insert(t.alert_targets)
            .values(user_id=user_id, url=url, label=label.strip()[:80], created_at=now)
            .returning(t.alert_targets.c.id)
        ).scalar_one()
    )


def alert_targets(conn: Connection, user_id: int) -> list[Any]:
    a = t.alert_targets.c
    return list(conn.execute(select(t.alert_targets).where(a.user_id == user_id)).all())


def remove_alert_target(conn: Connection, user_id: int, target_id: int) -> bool:
    a = t.alert_targets.c
    done = conn.execute(delete(t.alert_targets).where(a.user_id == user_id, a.id == target_id))
    return bool(done.rowcount)


def alerting(conn: Connection) -> list[Any]:
    """Every follow whose owner wants alerts and has somewhere to send them."""
    f, u = t.follows.c, t.users.c
    has_target = select(t.alert_targets.c.id).where(t.alert_targets.c.user_id == f.user_id)
    return list(
        conn.execute(
            select(t.follows, u.name.label("user_name"), u.alert_key)
            .join(t.users, u.id == f.user_id)
            .where(f.alert != "off", u.disabled.is_(False), has_target.exists())
            .order_by(f.user_id, f.id)
        ).all()
    )


def stop_alerts(conn: Connection, user_id: int) -> int:
    f = t.follows.c
    done = conn.execute(
        update(t.follows).where(f.user_id == user_id, f.alert != "off").values(alert="off")
    )
    return int(done.rowcount or 0)


def new_fact_items(conn: Connection, event_id: int, since: datetime) -> set[int]:
    """The stories with new facts (a development, a first-party report, a different figure)
    that joined an event after a moment."""
    m, i, s = t.event_members.c, t.items.c, t.sources.c
    rows = conn.execute(
        select(m.item_id)
        .join(t.items, i.id == m.item_id)
        .join(t.sources, s.id == i.source_id)
        .where(
            m.event_id == event_id,
            m.added_at > since,
            _news(),
        )
    )
    return set(rows.scalars())


def repeats(conn: Connection, item_ids: list[int]) -> set[int]:
    """Which of these stories are one more report of their event's happening: members that
    are neither its lead nor news to its followers (see the module's note)."""
    if not item_ids:
        return set()
    m, i, s = t.event_members.c, t.items.c, t.sources.c
    rows = conn.execute(
        select(m.item_id)
        .join(t.items, i.id == m.item_id)
        .join(t.sources, s.id == i.source_id)
        .where(m.item_id.in_(set(item_ids)), m.relation != "lead", ~_news())
    )
    return set(rows.scalars())


def _news() -> Any:
    """What makes a member news to an event's followers (see the module's note)."""
    m, s = t.event_members.c, t.sources.c
    return or_(m.relation.in_(NEW_FACTS), s.tier == FIRST_PARTY, m.new_number.is_(True))


def unsubscribe_sig(user_id: int, alert_key: str) -> str:
    """The signature in a person's unsubscribe link: only the desk can make it, and a new
    alert key (there is none to change yet) would void old links."""
    message = f"unsubscribe:{user_id}".encode()
    return hmac.new(alert_key.encode(), message, hashlib.sha256).hexdigest()[:32]
