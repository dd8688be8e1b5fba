"""A judged demo desk on each engine, and a client for the web app over it.

The demo pipeline runs once per test session (per xdist worker) and engine, into a template;
each test that takes `desk` gets a copy of its own, so it may change the desk freely. SQLite
copies the file; PostgreSQL makes a database with CREATE DATABASE … TEMPLATE, dropped after
the test. The copy is where `database_url` and `db` point, so a test taking `desk` with either
of them sees one database.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from conftest import PG_URL
from newsdesk.config import Settings, load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.app import catalog_for
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade
from newsdesk.web.app import create_app

BASE = "http://desk.test"
_COPIED = pytest.StashKey[bool]()


def demo_settings(**extra: Any) -> Settings:
    return load_settings(allow_private_urls=True, public_url=BASE, **extra)


def fill_demo(db: Database, settings: Settings) -> None:
    with DemoFeedServer() as base:
        catalog = catalog_for(settings, base)
        asyncio.run(run_once(db, settings, load_policy(), catalog=catalog, demo=True))


def without_reports(db: Database) -> None:
    """The desk before its first report: the demo pass composes the reports due on the demo's
    clock (its last day's brief, that week's and that month's), tests of a first report start
    from none."""
    from sqlalchemy import delete

    from newsdesk.store import schema as t

    db.write_sync(lambda c: c.execute(delete(t.reports)))


def _build(url: str) -> None:
    db = Database(url)
    try:
        upgrade(db)
        fill_demo(db, demo_settings())
    finally:
        db.close()  # no connection may stay open on a PostgreSQL template


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


# newsdesk_desk_p<pid>_<tag>[_<copy>]: the pid of the test process that made it, so a later
# session can drop what a killed one (SIGKILL, `timeout`) left behind.
_OURS = re.compile(r"newsdesk_desk_p(\d+)_[0-9a-f]{6}(?:_\d+)?")


def _drop_orphans() -> None:
    """Drop desk databases whose test process is gone (PostgreSQL on this machine only: a
    pid means nothing elsewhere)."""
    import psycopg

    if make_url(PG_URL).host not in (None, "", "127.0.0.1", "localhost", "::1"):
        return
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
        for name in names:
            match = _OURS.fullmatch(name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


class DeskTemplates:
    """The demo desk built at most once per engine, then copied for each test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite: Path | None = None
        self.postgres: str | None = None  # the template database's name
        self.tag = f"p{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def sqlite_copy(self, dest: Path) -> None:
        if self.sqlite is None:
            path = self.folder / "desk.db"
            _build(f"sqlite:///{path}")
            self.sqlite = path
        # The backup API copies the file whole, WAL included, whatever state it was left in.
        with sqlite3.connect(self.sqlite) as src, sqlite3.connect(dest) as dst:
            src.backup(dst)
        src.close()
        dst.close()

    def postgres_copy(self, n: int) -> str:
        if self.postgres is None:
            _drop_orphans()
            name = f"newsdesk_desk_{self.tag}"
            _admin(f'CREATE DATABASE "{name}"')
            self.postgres = name  # set before the build, so close() drops a half-built one
            _build(_pg_url(name))
        copy = f"newsdesk_desk_{self.tag}_{n}"
        _admin(f'CREATE DATABASE "{copy}" TEMPLATE "{self.postgres}"')
        return copy

    def close(self) -> None:
        if self.postgres is not None:
            _admin(f'DROP DATABASE IF EXISTS "{self.postgres}" WITH (FORCE)')


@pytest.fixture(scope="session")
def desk_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskTemplates]:
    templates = DeskTemplates(tmp_path_factory.mktemp("desk-template"))
    yield templates
    templates.close()


_copies = iter(range(1, 1_000_000))


@pytest.fixture
def database_url(
    database_url: str, request: pytest.FixtureRequest, desk_templates: DeskTemplates
) -> Iterator[str]:
    """The root conftest's fresh database; for a test that takes `desk`, a demo desk copy."""
    if "desk" not in request.fixturenames:
        yield database_url
        return
    request.node.stash[_COPIED] = True
    if database_url.startswith("sqlite:///"):
        desk_templates.sqlite_copy(Path(database_url.removeprefix("sqlite:///")))
        yield database_url
        return
    # PostgreSQL: a database of its own instead of the root conftest's empty schema.
    name = desk_templates.postgres_copy(next(_copies))
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def desk(db: Database, request: pytest.FixtureRequest) -> Database:
    if not request.node.stash.get(_COPIED, False):
        # Asked for late (request.getfixturevalue): db is the empty one, fill it here.
        fill_demo(db, demo_settings())
    return db


@pytest.fixture
def client_for(desk: Database) -> Iterator[Any]:
    """client_for(**settings) gives a TestClient on the demo desk with those settings."""

    def make(**extra: Any) -> TestClient:
        return TestClient(create_app(demo_settings(**extra), desk), base_url=BASE)

    yield make
