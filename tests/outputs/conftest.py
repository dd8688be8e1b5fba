"""A judged demo desk on each engine, and a client for the web app over it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsdesk.config import Settings, load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.app import catalog_for
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.store.db import Database
from newsdesk.web.app import create_app

BASE = "http://desk.test"


def demo_settings(**extra: Any) -> Settings:
    return load_settings(allow_private_urls=True, public_url=BASE, **extra)


def fill_demo(db: Database, settings: Settings) -> None:
    with DemoFeedServer() as base:
        catalog = catalog_for(settings, base)
        asyncio.run(run_once(db, settings, load_policy(), catalog=catalog, demo=True))


@pytest.fixture
def desk(db: Database) -> Database:
    fill_demo(db, demo_settings())
    return db


@pytest.fixture
def client_for(desk: Database) -> Iterator[Any]:
    """client_for(**settings) gives a TestClient on the demo desk with those settings."""

    def make(**extra: Any) -> TestClient:
        return TestClient(create_app(demo_settings(**extra), desk), base_url=BASE)

    yield make
