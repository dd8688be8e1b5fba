"""Engines and the write path.

SQLite allows one writer at a time. Rather than let concurrent stages meet "database is
locked", every write goes through one connection owned by one thread and fed by a queue (the
datasette approach); reads use their own pooled connections and never wait on writes (WAL).
PostgreSQL has no such limit, so there writes run on a small pool of threads.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from newsdesk.store import changes

T = TypeVar("T")


class DatabaseError(RuntimeError):
    """The database cannot be used; the message is meant for the user as it is."""


class StorageFailure(DatabaseError):
    """The database stopped working under a running command: the disk is full, the server is
    gone, the file cannot be written. Whatever was committed stays; the transaction that met
    it rolled back. Raised by `Database` so that the steps' "one bad story must not stop the
    desk" handlers let it through (it is every story's problem) and the command ends with
    this one line."""


_FULL = ("database or disk is full", "no space left on device", "could not extend file",
         "could not write", "disk quota exceeded")  # fmt: skip
_SQLITE_BROKEN = ("disk i/o error", "readonly database", "unable to open database file",
                  "database is locked", "database disk image is malformed")  # fmt: skip


def storage_failure(exc: BaseException, where: str) -> StorageFailure | None:
    """The StorageFailure `exc` amounts to, or None when it is an ordinary error (a bug, a
    constraint) that should surface as it is."""
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return None
    lines = str(exc.orig).strip().splitlines()
    reason = lines[0] if lines else type(exc.orig).__name__
    state = str(getattr(exc.orig, "sqlstate", "") or "")
    lowered = reason.lower()
    where = f" at {where}" if where else ""
    then = "what was stored before stays, and the next pass continues from there"
    if any(sign in lowered for sign in _FULL) or state.startswith("53"):
        return StorageFailure(
            f"the database{where} is out of space ({reason}); free some space: {then}"
        )
    # psycopg gives a failed connection no SQLSTATE ("is not currently accepting connections",
    # "connection refused"); SQLite's errors never have one, hence the sqlite_errorcode test
    refused = isinstance(exc, OperationalError) and not state
    refused = refused and not hasattr(exc.orig, "sqlite_errorcode")
    if exc.connection_invalidated or refused or state.startswith(("08", "57P")):
        return StorageFailure(f"lost the database{where} ({reason}); {then}")
    if any(sign in lowered for sign in _SQLITE_BROKEN):
        return StorageFailure(f"cannot write the database{where} ({reason}); {then}")
    return None


def engine_url(url: str) -> str:
    """Pick our drivers: psycopg 3 for PostgreSQL, the standard library for SQLite."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def make_engine(url: str) -> Engine:
    url = engine_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            _make_parent(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # A search_path can ride in the URL (?options=-csearch_path%3DNAME); tests use that.
    return create_engine(url, pool_size=10, max_overflow=10, connect_args={"connect_timeout": 5})


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = exc.filename or path.parent
        raise DatabaseError(
            f"cannot create the directory {where} for the database {path}: {reason}; "
            "create it or set NEWSDESK_DATABASE_URL / NEWSDESK_DATA_DIR to a writable place"
        ) from None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's legacy transaction handling emits no BEGIN before a SELECT and commits on
    # its own before DDL, so SQLAlchemy's first SAVEPOINT became the outermost transaction
    # and its RELEASE committed half a write. With the driver's handling off (isolation_level
    # None) and `_sqlite_begin` emitting the BEGIN, every `begin()` is one real transaction,
    # savepoints nest inside it and DDL (migrations) rolls back with it: SQLAlchemy's
    # documented recipe for pysqlite ("Serializable isolation / Savepoints / Transactional DDL").
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


WRITE_OPTION = "newsdesk_write"


def _sqlite_begin(conn: Connection) -> None:
    # The write path takes the write lock up front (BEGIN IMMEDIATE): a deferred transaction
    # that reads first and writes later fails with "database is locked" instead of waiting
    # for busy_timeout when another process (a CLI command beside `newsdesk up`) wrote between
    # its read and its write. Reads keep a plain deferred BEGIN: a consistent snapshot.
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


class Database:
    """One engine, pooled reads, and a serialised write path on SQLite."""

    def __init__(self, url: str) -> None:
        self.url = engine_url(url)
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        workers = 1 if self.is_sqlite else 4
        self._writer = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db-writer")
        self._writer_conn = threading.local()

    def check(self) -> None:
        """Fail with one clear line when the database cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            reason += self._why_not_open()
            raise DatabaseError(f"cannot reach the database at {self.safe_url}: {reason}") from None
        # SQLite may open a file on a read-only file system (when its -shm file is left over)
        # and fail only at the first write, mid-pass: say so before any work starts
        read_only = self._why_not_open()
        if "read-only" in read_only:
            raise DatabaseError(f"cannot write the database at {self.safe_url}{read_only}")

    def _why_not_open(self) -> str:
        # SQLite only says "unable to open database file"; a WAL database also needs to write
        # its -shm file beside it, so a read-only file system is a common, silent cause
        database = self.engine.url.database if self.is_sqlite else None
        if not database or database == ":memory:":
            return ""
        parent = Path(database).parent
        try:
            read_only = bool(os.statvfs(parent).f_flag & os.ST_RDONLY)
        except OSError:
            return f" ({parent} does not exist)" if not parent.exists() else ""
        return f" ({parent} is on a read-only file system)" if read_only else ""

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _failed(self, exc: BaseException) -> StorageFailure | None:
        return storage_failure(exc, self.safe_url)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            failure = self._failed(exc)
            if failure is None:
                raise
            raise failure from exc

    async def read_async(self, fn: Callable[[Connection], T]) -> T:
        """Run fn(conn) on a pooled read connection in a thread: a slow query inside async code
        must not stall the event loop (fetches, model calls and other steps share it)."""

        def run() -> T:
            with self.read() as conn:
                return fn(conn)

        return await asyncio.to_thread(run)

    def _run_write(self, fn: Callable[[Connection], T]) -> T:
        try:
            return self._write_once(fn)
        except DBAPIError as exc:
            failure = self._failed(exc)
            if failure is None:
                raise
            raise failure from exc

    def _write_once(self, fn: Callable[[Connection], T]) -> T:
        if not self.is_sqlite:
            with self.engine.begin() as pg_conn:
                return fn(pg_conn)
        conn: Connection | None = getattr(self._writer_conn, "conn", None)
        if conn is None or conn.closed:
            conn = self.engine.connect().execution_options(**{WRITE_OPTION: True})
            self._writer_conn.conn = conn
        try:
            with conn.begin():
                return fn(conn)
        except OperationalError:
            # A broken connection must not poison every later write.
            conn.close()
            self._writer_conn.conn = None
            raise

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        """Run fn(conn) in one transaction on the write path and wait for it."""
        return self._writer.submit(self._run_write, fn).result()

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run fn(conn) in one transaction on the write path without blocking the loop."""
        future = self._writer.submit(self._run_write, fn)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        def _close() -> None:
            conn = getattr(self._writer_conn, "conn", None)
            if conn is not None:
                conn.close()

        if self.is_sqlite:  # the one writer thread owns the one write connection
            self._writer.submit(_close)
        self._writer.shutdown(wait=True)
        changes.forget(self.engine)
        self.engine.dispose()
