"""What a page read from the database, kept until the database changes.

An uncached page used to read its cards' ids and versions on every request (two statements:
on SQLite as much CPU as the whole server's floor, on PostgreSQL two round trips). A read done
through `memoized` is kept under the desk's change number (`store/changes.py`: SQLite's
data_version, PostgreSQL's commit notifications) and answered again, without a statement,
until anything is committed to the database. Nothing is invalidated by hand, and a write of
any process ends every kept read.

What a read shows may also depend on the clock: a relative age ("5m ago") or an event's
"new" and "surge" markers. The code that makes such a label calls `until(t)` with the time the
label would change, and the kept read ends then too, so a label is never older than it would
be read afresh.

Values are shared between requests: callers copy before they change one.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from newsdesk.publish.footprint import footprint
from newsdesk.store.changes import clock_for
from newsdesk.store.per_engine import PerEngine

T = TypeVar("T")
MAX_READS = 2048  # per database
# per database, each read weighed by what it holds (`publish/footprint.py`): an API page's
# bytes ~75 KB, a feed page's 30 card copies with their cards' fields ~200 KB
MAX_BYTES = 16 * 1024 * 1024
_HORIZON: ContextVar[list[float] | None] = ContextVar("newsdesk_memo_horizon", default=None)
# (engine, number): the change number read before the transaction of the read being kept
_BEGAN = "newsdesk_memo_began"  # conn.info: (transaction, change number read before it began)
_NUMBER: ContextVar[tuple[Any, Any] | None] = ContextVar("newsdesk_memo_number", default=None)


def until(when: float) -> None:
    """What is being read shows a label that changes at `when` (Unix seconds, real time)."""
    box = _HORIZON.get()
    if box is not None and when < box[0]:
        box[0] = when


def until_desk(when: datetime, now: datetime) -> None:
    """A label that changes at `when` on the desk's clock, which reads `now` (the demo desk's
    clock stands still; ended after the same span of real time, which is never too late)."""
    if _HORIZON.get() is not None:
        until(time.time() + (when - now).total_seconds())


def desk_number(conn: Connection) -> Any:
    """A change number that what `conn`'s transaction reads is at least as new as, or None
    when none is known (a transaction begun before the number was read may see older data)."""
    if not conn.in_transaction():
        return clock_for(conn.engine).now()
    known = _NUMBER.get()
    return known[1] if known is not None and known[0] is conn.engine else None


class _Reads:
    def __init__(self, size: int = MAX_READS, max_bytes: int = MAX_BYTES) -> None:
        self.size, self.max_bytes = size, max_bytes
        self._kept: OrderedDict[Hashable, tuple[Any, float, Any]] = OrderedDict()
        self._weights: dict[Hashable, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Any, float, Any] | None:
        with self._lock:
            hit = self._kept.get(key)
            if hit is not None:
                self._kept.move_to_end(key)
            return hit

    def put(self, key: Hashable, entry: tuple[Any, float, Any]) -> None:
        # a page's card copies keep their cards' fields alive even once the card store has
        # let them go: counted here in full (footprint), so the sum of the caps is a bound
        weight = footprint(entry[2]) + footprint(key)
        with self._lock:
            self._total += weight - self._weights.get(key, 0)
            self._weights[key] = weight
            self._kept[key] = entry
            self._kept.move_to_end(key)
            while len(self._kept) > self.size or (self._total > self.max_bytes and self._kept):
                old, _ = self._kept.popitem(last=False)
                self._total -= self._weights.pop(old)


_reads_for: PerEngine[_Reads] = PerEngine(lambda engine: _Reads())


def memoized(conn: Connection, key: Hashable, read: Callable[[], T]) -> T:
    """`read()` (which reads through `conn`), or what it returned before under `key` when
    nothing has been committed to the database since and no label it shows has changed."""
    number = clock_for(conn.engine).now()  # before this transaction's first statement
    if number is None:
        return read()
    reads = _reads_for(conn.engine)
    hit = reads.get(key)
    if hit is not None and hit[0] == number and time.time() < hit[1]:
        until(hit[1])  # a read around this one ends when this one does
        return hit[2]  # type: ignore[no-any-return]
    # A transaction that already read may hold a snapshot older than `number`: what it reads
    # now is answered but not kept, unless the number read before its first statement (by a
    # kept read that began it) is still `number`: nothing was committed since, so its
    # snapshot is the desk at `number` (a page's later reads: the editor's marks, follows).
    began = not conn.in_transaction()
    started = conn.info.get(_BEGAN)
    keep = began or (
        started is not None and started[0] is conn.get_transaction() and started[1] == number
    )
    box = [math.inf]
    token = _HORIZON.set(box)
    known = _NUMBER.set((conn.engine, number) if keep else None)
    try:
        value = read()
    finally:
        _NUMBER.reset(known)
        _HORIZON.reset(token)
    until(box[0])
    if began and conn.in_transaction():
        conn.info[_BEGAN] = (conn.get_transaction(), number)
    if keep:
        reads.put(key, (number, box[0], value))
    return value
