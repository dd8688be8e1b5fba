"""Has the database changed? A number that moves whenever anything was committed to the desk,
by any connection of any process, read without a query of the desk's tables.

The read layer keeps what it read from the database under this number (`publish/memo.py`),
so a page asked again before the next write is answered without reading the database again.

- SQLite: `PRAGMA data_version` on a connection of our own that never writes. SQLite changes
  it whenever another connection (of this process or any other) has committed since the last
  time this connection asked; it is read from the WAL index in shared memory, a few
  microseconds.
- PostgreSQL: a statement-level trigger on every table of the desk says `NOTIFY
  newsdesk_changed` (migration 0016; a notification is delivered when the transaction
  commits, once per transaction). One thread per process listens and counts them. The commits
  of this process's own connections count at once, after the commit returns, so a page asked
  for right after an editor's action or a test's write is read afresh; another process's commit
  counts when its notification arrives (usually well under a millisecond later). While the
  listening connection is down the number is unknown (`None`), and nothing is kept.

The caller reads the number *before* its transaction's first statement: what it then reads is
at least as new as that number says, so something kept under it can never be older than a
later reader with the same number would read.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine

from newsdesk.store.per_engine import PerEngine

log = logging.getLogger(__name__)
CHANNEL = "newsdesk_changed"
CHECK_SECONDS = 5.0  # the listening connection proves itself alive this often


class ChangeClock:
    """A desk's change number: `now()` is an opaque hashable, or None when unknown."""

    def now(self) -> Any:
        return None

    def close(self) -> None:
        pass


class SqliteClock(ChangeClock):
    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._path = path
        self._epoch = 0  # moves when our own connection had to be opened again

    def now(self) -> Any:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = sqlite3.connect(self._path, check_same_thread=False,
                                                 isolation_level=None, timeout=5)  # fmt: skip
                    self._epoch += 1
                return (self._epoch, self._conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                self._drop()
                return None

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class PostgresClock(ChangeClock):
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._lock = threading.Lock()
        self._count = 0
        self._listening = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def now(self) -> Any:
        if self._thread is None:
            self._start()
        with self._lock:
            return self._count if self._listening else None

    def bump(self) -> None:
        """A commit of this process's own connections returned."""
        with self._lock:
            self._count += 1

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._listen, name="newsdesk-changes", daemon=True
                )
                self._thread.start()

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._lock:  # what happened while nobody listened is unknown
                        self._count += 1
                        self._listening = True
                    checked = time.monotonic()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self.bump()
                        if time.monotonic() - checked > CHECK_SECONDS:
                            conn.execute("SELECT 1")  # a dead connection raises here
                            checked = time.monotonic()
            except Exception as exc:  # any failure: unknown until listening again
                log.warning("desk change notifications lost (%s); pages read afresh", exc)
            with self._lock:
                self._listening = False
                self._count += 1
            self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._listening = False


def forget(engine: Engine) -> None:
    """Stop the engine's clock (its listening thread and connection): the database closes."""
    found = clock_for.pop(engine)
    if found is not None:
        found.close()


def _make(engine: Engine) -> ChangeClock:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if not path or path == ":memory:" or path.startswith("file:"):
            return ChangeClock()  # a private in-memory desk: never kept
        return SqliteClock(path)
    if url.get_backend_name() == "postgresql":
        clock = PostgresClock(url.set(drivername="postgresql").render_as_string(False))
        _count_own_commits(engine, clock)
        return clock
    return ChangeClock()


def _count_own_commits(engine: Engine, clock: PostgresClock) -> None:
    # SQLAlchemy's `commit` event fires before the commit: counting then would let a reader
    # keep pre-commit data under the new number. The dialect's do_commit returns after it.
    dialect = engine.dialect
    commit = dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            clock.bump()

    dialect.do_commit = do_commit  # type: ignore[method-assign]


clock_for: PerEngine[ChangeClock] = PerEngine(_make)
