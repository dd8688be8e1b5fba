"""Databases built once per test session (per xdist worker) and engine, then copied per test.

Migrating an empty database costs ~0.2 s on SQLite and ~0.9 s on PostgreSQL, and hundreds of
tests take `db`; the demo desk costs a whole pipeline pass. So each kind is built once into a
template and every test gets a copy of its own, free to change it: SQLite copies the file (the
backup API, WAL included), PostgreSQL runs CREATE DATABASE … TEMPLATE and drops the copy after
the test. Creating and dropping a copy take 0.1-1 s of the server's time each (more under load),
and the test would wait for both; so a background thread keeps the next copy of each kind ready
and drops used ones while tests run. Copies commit without waiting for the WAL flush
(`synchronous_commit = off`): the server stays up during a test, so nothing a test reads
changes, and ~2 ms per commit is not spent waiting on the disk.

A conftest registers a kind's builder (`BUILDERS["db"]`: migrated; tests/outputs'
`BUILDERS["desk"]`: the demo desk) and says, in its `template_kind` fixture, which kind a test
of its folder gets; the root `database_url` fixture makes the copy.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import make_url

Builder = Callable[[str], None]  # fills the (empty) database at this URL, closes its connections
BUILDERS: dict[str, Builder] = {}

# newsdesk_p<pid>_<tag>_<kind>[_<copy>]: the pid of the test process that made it, so a later
# session can drop what a killed one (SIGKILL, `timeout`) left behind.
_OURS = re.compile(r"newsdesk_p(\d+)_[0-9a-f]{6}_\w+")


class Templates:
    """The templates of one test process, built on first use."""

    def __init__(self, folder: Path, pg_url: str) -> None:
        self.folder, self.pg_url = folder, pg_url
        self.sqlite: dict[str, Path] = {}
        self.postgres: dict[str, str] = {}  # kind -> template database name
        self.tag = f"p{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._numbers = itertools.count(1)  # next() is atomic: two threads may make copies
        self._background = ThreadPoolExecutor(1, thread_name_prefix="db-templates")
        self._ready: dict[str, Future[str]] = {}  # kind -> the next copy, being made

    def sqlite_copy(self, kind: str, dest: Path) -> None:
        if kind not in self.sqlite:
            path = self.folder / f"{kind}.db"
            BUILDERS[kind](f"sqlite:///{path}")
            self.sqlite[kind] = path
        with sqlite3.connect(self.sqlite[kind]) as src, sqlite3.connect(dest) as dst:
            src.backup(dst)
        src.close()
        dst.close()

    def postgres_copy(self, kind: str) -> str:
        """A new database copied from the kind's template: its URL."""
        if kind not in self.postgres:
            if not self.postgres:
                self._drop_orphans()
            name = f"newsdesk_{self.tag}_{kind}"
            self.admin(f'CREATE DATABASE "{name}"')
            self.postgres[kind] = name  # set before the build, so close() drops a half-built one
            BUILDERS[kind](self.url(name))
        ready = self._ready.pop(kind, None)
        url = ready.result() if ready else self._make_copy(kind)
        self._ready[kind] = self._background.submit(self._make_copy, kind)
        return url

    def _make_copy(self, kind: str) -> str:
        copy = f"{self.postgres[kind]}_{next(self._numbers)}"
        self.admin(f'CREATE DATABASE "{copy}" TEMPLATE "{self.postgres[kind]}"')
        self.admin(f'ALTER DATABASE "{copy}" SET synchronous_commit = off')
        return self.url(copy)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._background.submit(self.admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for ready in self._ready.values():
            self.drop(ready.result())
        self._background.shutdown(wait=True)
        for name in self.postgres.values():
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def url(self, database: str) -> str:
        return make_url(self.pg_url).set(database=database).render_as_string(hide_password=False)

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def _drop_orphans(self) -> None:
        """Drop copies whose test process is gone (PostgreSQL on this machine only: a pid
        means nothing elsewhere)."""
        import psycopg

        if make_url(self.pg_url).host not in (None, "", "127.0.0.1", "localhost", "::1"):
            return
        with psycopg.connect(self.pg_url, autocommit=True, connect_timeout=5) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
            for name in names:
                match = _OURS.fullmatch(name)
                if match and not Path(f"/proc/{match.group(1)}").exists():
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
