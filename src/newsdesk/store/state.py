"""desk_state: what every process of the fleet must see alike (why model steps are paused)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, text, update

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
    elif worked and await db.read_async(lambda c: get(c, PAUSED)) is not None:
        # a read first: every model task of every worker ends here, and a pause is rare
        await db.write(lambda c: c.execute(delete(desk_state).where(desk_state.c.key == PAUSED)))


# Model call slots shared by every process (PostgreSQL): one desk_state row per slot taken,
# its value the holder, its time when the lease runs out (a killed holder's slot frees then).
_TAKE_SLOT = text("""
WITH free AS (
    SELECT 'llm-slot:' || :service || ':' || n AS key FROM generate_series(0, :limit - 1) AS n
    WHERE NOT EXISTS (SELECT 1 FROM desk_state d
                      WHERE d.key = 'llm-slot:' || :service || ':' || n AND d.updated_at >= now())
    ORDER BY random() LIMIT 1
)
INSERT INTO desk_state (key, value, updated_at) SELECT key, :holder, :until FROM free
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
    WHERE desk_state.updated_at < now()
RETURNING key
""")


# One slot drawn at random, taken if free: with a wide limit most are, and this is one index
# probe where `_TAKE_SLOT` looks at every slot (256 by the bench's limit) for every call.
_TRY_SLOT = text("""
INSERT INTO desk_state (key, value, updated_at) VALUES (:key, :holder, :until)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
    WHERE desk_state.updated_at < now()
RETURNING key
""")


def take_slot(
    conn: Connection, service: str, limit: int, holder: str, until: datetime
) -> str | None:
    """One free slot of `service` (of `limit`) leased to `holder`, or None when all are taken."""
    params = {"service": service, "limit": limit, "holder": holder, "until": until}
    drawn = f"llm-slot:{service}:{random.randrange(limit)}" if limit > 0 else None
    if drawn is not None:
        key = conn.execute(_TRY_SLOT, {"key": drawn, "holder": holder, "until": until}).scalar()
        if key is not None:
            return str(key)
    return conn.execute(_TAKE_SLOT, params).scalar()


def renew_slot(conn: Connection, key: str, holder: str, until: datetime) -> None:
    conn.execute(
        update(desk_state)
        .where(desk_state.c.key == key, desk_state.c.value == holder)
        .values(updated_at=until)
    )


def free_slot(conn: Connection, key: str, holder: str) -> None:
    conn.execute(delete(desk_state).where(desk_state.c.key == key, desk_state.c.value == holder))
