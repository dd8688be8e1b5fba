"""A judged demo desk on each engine, and a client for the web app over it.

The demo pipeline runs once per test session (per xdist worker) and engine, into a template
(db_templates.py); each test that takes `desk` gets a copy of its own, so it may change the
desk freely. The copy is where `database_url` and `db` point, so a test taking `desk` with
either of them sees one database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import COPIED
from db_templates import BUILDERS
from newsdesk.config import Settings, load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.app import catalog_for
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade
from newsdesk.web.app import create_app

BASE = "http://desk.test"


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


BUILDERS["desk"] = _build


@pytest.fixture
def template_kind(template_kind: str | None, request: pytest.FixtureRequest) -> str | None:
    return "desk" if "desk" in request.fixturenames else template_kind


@pytest.fixture
def desk(db: Database, request: pytest.FixtureRequest) -> Database:
    if request.node.stash.get(COPIED, None) != "desk":
        # Asked for late (request.getfixturevalue): db is the empty one, fill it here.
        fill_demo(db, demo_settings())
    return db


@pytest.fixture
def client_for(desk: Database) -> Iterator[Any]:
    """client_for(**settings) gives a TestClient on the demo desk with those settings."""

    def make(**extra: Any) -> TestClient:
        return TestClient(create_app(demo_settings(**extra), desk), base_url=BASE)

    yield make
