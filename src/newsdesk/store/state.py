"""desk_state: what every process of the fleet must see alike (why model steps are paused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from newsdesk.store.db import Database
from newsdesk.store.schema import desk_state

PAUSED = "paused"


def put(conn: Connection, key: str, value: str, now: datetime) -> None:
    conn.execute(delete(desk_state).where(desk_state.c.key == key))
    conn.execute(desk_state.insert().values(key=key, value=value, updated_at=now))


def get(conn: Connection, key: str) -> Any:
    return conn.execute(select(desk_state).where(desk_state.c.key == key)).first()


async def set_paused(db: Database, reason: str, now: datetime, worked: bool) -> None:
    """A model step met a spent budget (reason), or did paid work again (the pause is over)."""
    if reason:
        await db.write(lambda c: put(c, PAUSED, reason, now))
    elif worked:
        await db.write(lambda c: c.execute(delete(desk_state).where(desk_state.c.key == PAUSED)))
