"""A desk made by the first release (commit 6c70bc0: migration chain "0001" only, one demo
pass, 119 judged stories) upgrades to head on both engines, keeps every story, ends with the
schema a fresh database gets, and today's code serves and collects on it.

The fixtures were written by that commit's own code: tests/fixtures/first_release/build.sh."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient

from conftest import FIXTURES
from newsdesk.store.db import Database
from newsdesk.store.migrate import current_revision, head_revision, upgrade
from newsdesk.store.schema import metadata
from newsdesk.web.app import create_app
from outputs.conftest import BASE, demo_settings, fill_demo

RELEASE = FIXTURES / "first_release"
COUNTS = {"items": 119, "judgements": 119, "events": 97, "discoveries": 7, "sources": 16}


def load_first_release(database_url: str) -> None:
    """Put the first release's database where `database_url` points."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        path.write_bytes(gzip.decompress((RELEASE / "first_release.sqlite.gz").read_bytes()))
        return
    script = gzip.decompress((RELEASE / "first_release.pg.sql.gz").read_bytes()).decode()
    url = sa.make_url(database_url)
    options = url.query.get("options")
    conninfo = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, options=options, autocommit=True) as conn:
        conn.execute(script)  # type: ignore[arg-type]  # no parameters: one simple query


def snapshot(db: Database) -> dict[str, Any]:
    with db.read() as conn:
        counts = {name: conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
                  for name in COUNTS}  # fmt: skip
        titles = dict(conn.execute(sa.text("SELECT id, title FROM items")).all())
        tiers = dict(conn.execute(sa.text("SELECT item_id, tier FROM judgements")).all())
    return {"counts": counts, "titles": titles, "tiers": tiers}


def schema_differences(db: Database) -> list[Any]:
    """What separates this database's schema from the tables the code declares (the FTS5
    shadow tables of SQLite are made by SQL, not declared, so they are left out, and so are
    the job queue's tables on PostgreSQL: Procrastinate's own schema, applied by 0009_queue)."""

    def declared(obj: Any, name: str | None, type_: str, reflected: bool, _: Any) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
        made_by_sql = ("items_fts", "items_words", "procrastinate_")
        return not (reflected and table and table.startswith(made_by_sql))

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": declared})
        return list(compare_metadata(context, metadata))


def test_first_release_upgrades_to_head(database_url: str) -> None:
    load_first_release(database_url)
    db = Database(database_url)
    try:
        assert current_revision(db) == "0001"
        before = snapshot(db)
        assert before["counts"] == COUNTS
        upgrade(db)
        assert current_revision(db) == head_revision(db)
        assert snapshot(db) == before  # every story, judgement and event kept as it was
        assert schema_differences(db) == []

        # today's code reads it: the API lists stories and search finds the o3-mini card
        client = TestClient(create_app(demo_settings(), db), base_url=BASE)
        items = client.get("/api/v1/items", params={"limit": 100}).json()["items"]
        assert len(items) > 50  # public stories of every tier, each event once
        assert all(item["title"]["en"] or item["title"]["zh"] for item in items)
        assert client.get("/").text.count('class="card') == 30
        found = client.get("/api/v1/search", params={"q": "o3-mini"}).json()
        assert any("o3-mini" in item["title"]["en"] for item in found["items"])

        # and collects on it: the same demo feeds add no story twice
        fill_demo(db, demo_settings())
        after = snapshot(db)
        assert after["counts"]["items"] == COUNTS["items"]
        assert after["titles"] == before["titles"]
    finally:
        db.close()


def test_first_release_fixture_is_what_that_release_wrote(database_url: str) -> None:
    """The fixture is the old schema, not today's: tables added later are absent, so the
    upgrade above really ran every migration after 0001."""
    load_first_release(database_url)
    db = Database(database_url)
    try:
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"items", "judgements", "events", "alembic_version"} <= tables
        assert not {"notifications", "editor_sessions", "event_judgements"} & tables
    finally:
        db.close()
