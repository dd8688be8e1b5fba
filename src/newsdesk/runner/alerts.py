"""Personal alerts: each person's follows, sent to their own apprise URLs, immediately (one
message a story), as a daily digest or a weekly one, composed by rules (`notify/digest.py`).

What is sent: public stories a follow brings that are live (never backfill) and filed after
the follow was made; for a followed event only stories with new facts (a development, a
first-party report, a different figure), and for a tag, an entity or a source each event's
lead and its reports with new facts, never a plain repeat (`publish/following.cards_of`).
Immediate alerts cover the last 48 hours. A daily digest covers the
desk's previous local day and is due once NEWSDESK_DAILY_HOUR has passed; a weekly one the
last whole Monday-to-Sunday week, due from Monday at that hour. Every message goes through the
outbox (`notifications`, kinds `alert` and `digest`, ref `USER:…`), so it is sent once per
target however many passes or workers see it, and ends with an unsubscribe link.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from newsdesk.config import Settings
from newsdesk.notify import Target, deliver
from newsdesk.notify.digest import Message, digest, story_alert
from newsdesk.publish.following import LABELS, cards_of
from newsdesk.publish.read import get_card
from newsdesk.store import follows, outputs
from newsdesk.store.db import Database

WINDOW = timedelta(hours=48)
MAX_ATTEMPTS = 5
KINDS = ("alert", "digest")
PER_FOLLOW = 30


@dataclass(frozen=True)
class Due:
    message: Message
    user_id: int
    targets: list[Target]


def _story(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": card["id"], "url": card["url"], "tier": card["tier"],
        "title": card["title"]["en"] or card["title"]["zh"] or card["original_title"],
        "summary": card["summary"]["en"] or card["summary"]["zh"],
        "source": card["source"]["name"],
    }  # fmt: skip


def _label(conn: Connection, row: Any) -> str:
    if row.kind == "event":
        cards = cards_of(conn, "event", row.target, limit=1, tz="UTC", now=None)
        title = (cards[0]["title"]["en"] or cards[0]["title"]["zh"]) if cards else ""
        return f"the story “{title or row.target}”"
    if row.kind == "search":
        return f"the search “{row.target}”"
    return f"{LABELS[row.kind]} {row.target}"


def _stories(conn: Connection, row: Any, settings: Settings, since: datetime,
             until: datetime) -> list[dict[str, Any]]:  # fmt: skip
    """A follow's live stories filed in [since, until) and after it was made."""
    cards = cards_of(conn, row.kind, row.target, limit=PER_FOLLOW, tz=settings.timezone, now=None,
                     news=True)  # fmt: skip
    start = max(since, row.created_at)
    kept = [c for c in cards if not c["backfill"] and start <= c["filed_at"] < until]
    if row.kind == "event":
        news = follows.new_fact_items(conn, int(row.target), row.created_at)
        kept = [c for c in kept if c["id"] in news]
    return sorted(kept, key=lambda c: c["filed_at"], reverse=True)


def unsubscribe_url(settings: Settings, user_id: int, alert_key: str) -> str:
    return (
        f"{settings.base_url}/unsubscribe/{user_id}/{follows.unsubscribe_sig(user_id, alert_key)}"
    )


def _periods(settings: Settings, now: datetime) -> dict[str, tuple[str, datetime, datetime]]:
    """The digests due now: {"daily": (ref part, start, end), "weekly": …}."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    today = local.date()
    if local.hour < settings.daily_hour:
        today -= timedelta(days=1)  # today's digest is not due yet: the last one is

    def at(day: date) -> datetime:
        return datetime.combine(day, time(0), zone)

    yesterday = today - timedelta(days=1)
    monday = today - timedelta(days=today.weekday())  # this week's; the last whole one before
    return {
        "daily": (f"d:{yesterday.isoformat()}", at(yesterday), at(today)),
        "weekly": (f"w:{(monday - timedelta(days=7)).isoformat()}", at(monday - timedelta(7)),
                   at(monday)),
    }  # fmt: skip


def due(conn: Connection, settings: Settings, now: datetime,
        user_id: int | None = None) -> list[Due]:  # fmt: skip
    """Every alert and digest due now (sent or not: the outbox tells), per person."""
    periods = _periods(settings, now)
    out: list[Due] = []
    rows = [r for r in follows.alerting(conn) if user_id is None or r.user_id == user_id]
    for uid, mine in groupby(rows, key=lambda r: r.user_id):
        mine = list(mine)
        targets = [Target(url=a.url) for a in follows.alert_targets(conn, uid)]
        unsubscribe = unsubscribe_url(settings, uid, mine[0].alert_key)
        for row in (r for r in mine if r.alert == "immediate"):
            label = _label(conn, row)
            for card in _stories(conn, row, settings, now - WINDOW, now + timedelta(seconds=1)):
                message = story_alert(uid, label, _story(card), settings.base_url, unsubscribe)
                out.append(Due(message, uid, targets))
        for kind in ("daily", "weekly"):
            chosen = [r for r in mine if r.alert == kind]
            if not chosen:
                continue
            ref, start, end = periods[kind]
            groups = [
                (_label(conn, r), [_story(c) for c in _stories(conn, r, settings, start, end)])
                for r in chosen
            ]
            name = "Daily" if kind == "daily" else "Weekly"
            label = f"{name} digest for {mine[0].user_name}, {ref[2:]}"
            message = digest(uid, ref, label, groups, settings.base_url, unsubscribe)
            if message is not None:
                out.append(Due(message, uid, targets))
    return out


def enqueue(db: Database, settings: Settings, now: datetime) -> int:
    """Put every due message in the outbox once per target; returns rows added."""

    def fill(conn: Connection) -> int:
        added = 0
        for item in due(conn, settings, now):
            for target in item.targets:
                added += outputs.enqueue(conn, item.message.kind, item.message.ref, target.key, now)
        return added

    return db.write_sync(fill)


async def dispatch(db: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """Deliver the people's pending alerts; a failure stays pending until MAX_ATTEMPTS."""
    counts = {"sent": 0, "failed": 0, "dropped": 0}

    def load(conn: Connection) -> list[tuple[dict[str, Any], Target | None, Message | None]]:
        pending = outputs.pending_deliveries(conn, MAX_ATTEMPTS, KINDS)
        found = []
        cache: dict[int, list[Due]] = {}
        for row in pending:
            uid = int(row["ref"].split(":", 1)[0])
            if uid not in cache:
                cache[uid] = due(conn, settings, now, uid) + _queued_alerts(conn, settings, uid)
            match = next((d for d in cache[uid] if d.message.ref == row["ref"]
                          and d.message.kind == row["kind"]), None)  # fmt: skip
            target = next((t for t in (match.targets if match else []) if t.key == row["target"]),
                          None)  # fmt: skip
            found.append((row, target, match.message if match else None))
        return found

    rows = await db.read_async(load)

    async def one(row: dict[str, Any], target: Target | None, message: Message | None) -> None:
        at = now
        if target is None or message is None:  # target removed, unfollowed, story hidden
            counts["dropped"] += 1
            await db.write(lambda c: outputs.record_delivery(c, row["id"], False, "dropped", at,
                                                             True))  # fmt: skip
            return
        error = await deliver(target, message.title, message.body)
        counts["sent" if error is None else "failed"] += 1
        give_up = error is not None and row["attempts"] + 1 >= MAX_ATTEMPTS
        await db.write(
            lambda c: outputs.record_delivery(c, row["id"], error is None, error, at, give_up)
        )

    await asyncio.gather(*(one(*r) for r in rows))
    return counts


def _queued_alerts(conn: Connection, settings: Settings, uid: int) -> list[Due]:
    """Immediate alerts queued earlier whose story has left the 48-hour window since: composed
    from the story itself, so a retry still has its message."""
    out = []
    rows = [r for r in follows.alerting(conn) if r.user_id == uid and r.alert == "immediate"]
    if not rows:
        return out
    targets = [Target(url=a.url) for a in follows.alert_targets(conn, uid)]
    unsubscribe = unsubscribe_url(settings, uid, rows[0].alert_key)
    for pending in outputs.pending_deliveries(conn, MAX_ATTEMPTS, ("alert",)):
        owner, _, item = pending["ref"].partition(":")
        if int(owner) != uid or not item.isdigit():
            continue
        card = get_card(conn, int(item))
        if card is not None and not card["backfill"]:
            label = _label(conn, rows[0])
            out.append(Due(story_alert(uid, label, _story(card), settings.base_url, unsubscribe),
                           uid, targets))  # fmt: skip
    return out


async def run(db: Database, settings: Settings, now: datetime) -> dict[str, int]:
    """The people's alerts after a pass: queue what is due, then deliver."""
    if not settings.notify_enabled:
        return {}
    await asyncio.to_thread(enqueue, db, settings, now)
    return await dispatch(db, settings, now)


def preview(conn: Connection, settings: Settings, user_id: int, now: datetime) -> list[Any]:
    """What would be sent to one person now: due messages not yet sent to every target."""
    sent = {(r["kind"], r["ref"], r["target"]) for r in outputs.notification_rows(conn)
            if r["status"] == "sent"}  # fmt: skip
    return [
        d
        for d in due(conn, settings, now, user_id)
        if any((d.message.kind, d.message.ref, t.key) not in sent for t in d.targets)
    ]
