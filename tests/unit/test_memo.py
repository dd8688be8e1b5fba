"""Reads kept until the database changes (publish/memo.py, store/changes.py): a write by any
connection ends them, and so does the moment a label they show would change."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from newsdesk.publish.memo import memoized, until
from newsdesk.publish.read import relative_age
from newsdesk.store.db import Database


def counting(conn, calls: list[int], until_when: float | None = None):  # type: ignore[no-untyped-def]
    def read() -> int:
        calls.append(1)
        if until_when is not None:
            until(until_when)
        return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())

    return read


def desk(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path}/memo.db")
    db.write_sync(lambda c: c.execute(text("CREATE TABLE t (x INTEGER)")))
    return db


def test_a_read_is_kept_until_another_connection_commits(tmp_path: Path) -> None:
    db = desk(tmp_path)
    calls: list[int] = []
    try:
        for _ in range(3):
            with db.read() as conn:
                assert memoized(conn, "k", counting(conn, calls)) == 0
        assert len(calls) == 1
        other = Database(db.url)  # another engine, as another process would be
        other.write_sync(lambda c: c.execute(text("INSERT INTO t VALUES (1)")))
        other.close()
        with db.read() as conn:
            assert memoized(conn, "k", counting(conn, calls)) == 1
        assert len(calls) == 2
    finally:
        db.close()


def test_a_read_ends_when_its_label_would_change(tmp_path: Path) -> None:
    db = desk(tmp_path)
    calls: list[int] = []
    try:
        soon = time.time() + 0.3
        for _ in range(2):
            with db.read() as conn:
                memoized(conn, "k", counting(conn, calls, soon))
        assert len(calls) == 1
        time.sleep(0.4)
        with db.read() as conn:
            memoized(conn, "k", counting(conn, calls, soon))
        assert len(calls) == 2
    finally:
        db.close()


def test_a_read_inside_a_started_transaction_is_not_kept(tmp_path: Path) -> None:
    """Its snapshot may be older than the change number read now."""
    db = desk(tmp_path)
    calls: list[int] = []
    try:
        for _ in range(2):
            with db.read() as conn:
                conn.execute(text("SELECT 1"))
                memoized(conn, "k", counting(conn, calls))
        assert len(calls) == 2
    finally:
        db.close()


def test_a_later_read_of_a_transaction_a_kept_read_began_is_kept(tmp_path: Path) -> None:
    """A page's later reads (an editor's marks and follows) share the transaction its first
    kept read began: nothing committed since that read's number, so they are kept too; after
    a commit by another connection in between they are answered but not kept."""
    db = desk(tmp_path)
    first: list[int] = []
    later: list[int] = []
    try:
        for _ in range(3):
            with db.read() as conn:
                memoized(conn, "first", counting(conn, first))
                memoized(conn, "later", counting(conn, later))
        assert len(first) == 1 and len(later) == 1
        again: list[int] = []
        other = Database(db.url)
        try:
            with db.read() as conn:
                memoized(conn, "begins", counting(conn, []))  # read, so its transaction began
                other.write_sync(lambda c: c.execute(text("INSERT INTO t VALUES (1)")))
                # its snapshot is older than the commit: answered, not kept
                assert memoized(conn, "again", counting(conn, again)) == 0
        finally:
            other.close()
        with db.read() as conn:
            assert memoized(conn, "again", counting(conn, again)) == 1
        assert len(again) == 2
    finally:
        db.close()


def test_relative_age_says_when_it_changes(tmp_path: Path) -> None:
    db = desk(tmp_path)
    now = datetime.now(UTC)
    when = now - timedelta(minutes=5, seconds=10)
    try:
        with db.read() as conn:
            assert memoized(conn, "age", lambda: relative_age(when, now)) == "5m ago"
            # the read ends at six minutes of age, 50 s from now: kept until then
            assert memoized(conn, "age", lambda: "other") == "5m ago"
        horizon = (when + timedelta(minutes=6)).timestamp()
        from newsdesk.publish import memo

        kept = memo._reads_for(db.engine).get("age")
        assert kept is not None and abs(kept[1] - horizon) < 0.01
    finally:
        db.close()


def test_kept_reads_are_bounded_by_their_bytes() -> None:
    from newsdesk.publish.memo import _Reads

    reads = _Reads(size=100, max_bytes=10_000)
    for n in range(20):
        reads.put(n, (1, float("inf"), b"x" * 1000))
    assert reads.get(0) is None and reads.get(19) is not None
    assert sum(1 for n in range(20) if reads.get(n) is not None) <= 10
