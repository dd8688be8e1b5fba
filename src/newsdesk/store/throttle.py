"""Failed sign-ins, counted in the database so the count holds across processes and restarts.

An attempt names an account (a realm and the name given: "signin:editor", "reader:alice") and
comes from a client address; each has a row in `auth_failures`. `admit` lets an attempt go
ahead only when neither row is blocked, and counts it as a failure *before* the secret is
checked, in the same transaction that read the rows: fifty parallel clients cannot all pass
while the first one is being checked. A success clears the account's row (`succeeded`).

Each failure blocks the next attempt for longer (`Rules.block_seconds`): a few are free, then
the wait doubles, and from `lock_after` failures on every further failure locks for
`lock_seconds`. Rows with no failure for `forget_seconds` are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from newsdesk.store import schema as t

ACCOUNT, ADDRESS = "account", "address"
Key = tuple[str, str]  # (scope, key)


@dataclass(frozen=True)
class Rules:
    lock_after: int = 10
    lock_seconds: float = 900.0
    free: int = 2  # failures that cost nothing: everyone mistypes
    first_delay: float = 1.0
    max_delay: float = 60.0
    forget_seconds: float = 86_400.0

    def block_seconds(self, failures: int) -> float:
        """How long the n-th failure in a row blocks the next attempt."""
        if failures >= self.lock_after:
            return self.lock_seconds
        if failures <= self.free:
            return 0.0
        return min(self.max_delay, self.first_delay * 2 ** (failures - self.free - 1))


def keys(account: str | None, address: str) -> list[Key]:
    out = [(ADDRESS, address[:300])]
    if account is not None:
        out.append((ACCOUNT, account[:300]))
    return out


def _insert_missing(conn: Connection, rows: list[dict[str, Any]]) -> None:
    # Insert first: on SQLite the write takes the database's write lock before anything is
    # read, so another process cannot read the same counts in between.
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(make(t.auth_failures).values(rows).on_conflict_do_nothing())


def _where(wanted: list[Key]) -> Any:
    return or_(*(and_(t.auth_failures.c.scope == s, t.auth_failures.c.key == k) for s, k in wanted))


def admit(conn: Connection, wanted: list[Key], now: datetime, rules: Rules) -> float:
    """0 when the attempt may go ahead (it is counted as a failure now), else the seconds the
    client must wait; a refused attempt changes nothing."""
    table = t.auth_failures
    stale = now - timedelta(seconds=rules.forget_seconds)
    conn.execute(
        delete(table).where(
            table.c.last_failure_at < stale,
            or_(table.c.blocked_until.is_(None), table.c.blocked_until < now),
        )
    )
    _insert_missing(conn, [
        {"scope": s, "key": k, "failures": 0, "last_failure_at": now, "blocked_until": None}
        for s, k in wanted
    ])  # fmt: skip
    rows = conn.execute(
        select(table.c.scope, table.c.key, table.c.failures, table.c.blocked_until)
        .where(_where(wanted))
        .with_for_update()  # PostgreSQL: parallel attempts on one account queue here
    ).all()
    blocks = [(r.blocked_until - now).total_seconds() for r in rows if r.blocked_until]
    wait = max(blocks, default=0.0)
    if wait > 0:
        return wait
    for row in rows:
        failures = row.failures + 1
        block = rules.block_seconds(failures)
        conn.execute(
            update(table)
            .where(table.c.scope == row.scope, table.c.key == row.key)
            .values(
                failures=failures,
                last_failure_at=now,
                blocked_until=now + timedelta(seconds=block) if block else None,
            )
        )
    return 0.0


def succeeded(conn: Connection, wanted: list[Key]) -> None:
    """The secret was right: the account starts afresh, and the address loses the failure
    `admit` counted in advance and its block (its earlier failures still count)."""
    table = t.auth_failures
    accounts = [key for key in wanted if key[0] == ACCOUNT]
    if accounts:
        conn.execute(delete(table).where(_where(accounts)))
    addresses = [key for key in wanted if key[0] == ADDRESS]
    if addresses:
        conn.execute(
            update(table)
            .where(_where(addresses), table.c.failures > 0)
            .values(failures=table.c.failures - 1, blocked_until=None)
        )


def failures(conn: Connection, key: Key) -> tuple[int, datetime | None]:
    """(failures, blocked until) of one row; (0, None) when there is none."""
    row = conn.execute(
        select(t.auth_failures.c.failures, t.auth_failures.c.blocked_until).where(_where([key]))
    ).first()
    return (row.failures, row.blocked_until) if row else (0, None)
