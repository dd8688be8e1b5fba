"""A write is one transaction on both engines: what it did before it failed is gone.

On SQLite this used to be false: pysqlite's legacy transaction handling emitted no BEGIN, so
a savepoint became the outermost transaction and its RELEASE committed (a story stored
without its revision row, for good).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from newsdesk.domain import Item, Source, SourceTier
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.db import Database

NOW = datetime(2025, 2, 1, 12, tzinfo=UTC)
LAB = Source(id="lab", name="Lab", url="https://lab.example/feed", tier=SourceTier.T1)
MEDIA = Source(id="media", name="Media", url="https://media.example/feed", tier=SourceTier.T2)


class Boom(RuntimeError):
    pass


def story(n: int) -> Item:
    return Item(
        identity_key=f"url:https://lab.example/{n}",
        source_id="lab",
        url=f"https://lab.example/{n}",
        title=f"Story {n}",
        body_text="body",
        body_html="<p>body</p>",
        language="en",
        published_at=NOW,
        filed_at=NOW,
        first_seen_at=NOW,
        backfill=False,
        content_hash=f"h{n}",
    )


def count(db: Database, table) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_failed_write_leaves_no_row_of_its_savepoint_nor_after_it(db: Database) -> None:
    def write(conn) -> None:
        conn.execute(select(t.sources.c.id)).all()
        with conn.begin_nested():
            repo.upsert_sources(conn, [LAB], NOW)
        repo.upsert_sources(conn, [MEDIA], NOW)
        raise Boom

    with pytest.raises(Boom):
        db.write_sync(write)
    assert count(db, t.sources) == 0


async def test_a_failed_async_write_is_rolled_back_too(db: Database) -> None:
    db.write_sync(lambda conn: repo.upsert_sources(conn, [LAB], NOW))

    def write(conn) -> None:
        repo.save_item(conn, story(1))  # a savepoint inside
        raise Boom

    with pytest.raises(Boom):
        await db.write(write)
    assert (count(db, t.items), count(db, t.item_revisions)) == (0, 0)


def test_a_story_is_stored_with_its_revision_or_not_at_all(db: Database) -> None:
    db.write_sync(lambda conn: repo.upsert_sources(conn, [LAB], NOW))
    db.write_sync(lambda conn: repo.save_item(conn, story(1)))

    def crash_after_second_story(conn) -> None:
        repo.save_item(conn, story(2))
        raise Boom

    with pytest.raises(Boom):
        db.write_sync(crash_after_second_story)
    with db.read() as conn:
        items = conn.execute(select(t.items.c.id)).scalars().all()
        revisions = conn.execute(select(t.item_revisions.c.item_id)).scalars().all()
    assert len(items) == 1
    assert revisions == items


def test_a_rolled_back_savepoint_keeps_the_rest_of_the_write(db: Database) -> None:
    def write(conn) -> None:
        repo.upsert_sources(conn, [LAB], NOW)
        try:
            with conn.begin_nested():
                repo.upsert_sources(conn, [MEDIA], NOW)
                raise Boom
        except Boom:
            pass

    db.write_sync(write)
    with db.read() as conn:
        assert conn.execute(select(t.sources.c.id)).scalars().all() == ["lab"]


def test_two_processes_writing_one_sqlite_file_wait_for_each_other(tmp_path) -> None:
    """Read-then-write from two writers (say `newsdesk up` and a CLI command) on one file:
    the second waits for the lock instead of failing with "database is locked"."""
    from newsdesk.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = Database(url), Database(url)
    upgrade(first)
    first.write_sync(lambda conn: repo.upsert_sources(conn, [LAB], NOW))
    errors: list[BaseException] = []

    def slow_read_then_write(db: Database, item: Item) -> None:
        def write(conn) -> None:
            conn.execute(select(t.items.c.id)).all()
            time.sleep(0.3)
            repo.save_item(conn, item)

        try:
            db.write_sync(write)
        except BaseException as exc:  # reported below with the assertion
            errors.append(exc)

    threads = [
        threading.Thread(target=slow_read_then_write, args=(first, story(1))),
        threading.Thread(target=slow_read_then_write, args=(second, story(2))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert count(first, t.items) == 2
    finally:
        first.close()
        second.close()
