"""`newsdesk db backup` and `db restore` through the real command: a backup taken while another
process keeps writing is whole and consistent; a restore refuses what it should, migrates an
old desk to head, and a running server sees the restored desk."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import FIXTURES

from .conftest import clean_env, newsdesk
from .test_cli_errors import assert_one_clear_line

# Writes pairs of rows, each pair in one transaction, until told to stop: a backup that caught
# a transaction half-way would hold an "a" row without its "b".
WRITER = """
import os, sys
from datetime import UTC, datetime
from sqlalchemy import insert
from newsdesk.store.db import Database
from newsdesk.store.schema import auth_failures
db = Database(sys.argv[1])
stop = sys.argv[2]
n = 0
now = datetime.now(UTC)
while not os.path.exists(stop):
    rows = [{"scope": "account", "key": f"w{n}{half}", "failures": 1, "last_failure_at": now}
            for half in "ab"]
    db.write_sync(lambda c: c.execute(insert(auth_failures).values(rows)))
    n += 1
    if n == 50:
        print("under way", flush=True)  # once: a full pipe would stop the writer
db.close()
"""


def demo_desk(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = clean_env(tmp_path, **extra)
    ran = newsdesk(["run", "--once", "--demo"], env, tmp_path)
    assert ran.returncode == 0, ran.stderr
    return env


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo desk made by the real command for the module's SQLite tests (a pass is
    ~4 s of CPU); each test gets a copy of its data directory."""
    where = tmp_path_factory.mktemp("demo-desk")
    demo_desk(where)
    return where / "data"


def demo_copy(tmp_path: Path, demo_data: Path) -> dict[str, str]:
    shutil.copytree(demo_data, tmp_path / "data")
    return clean_env(tmp_path)


def pairs(path: Path) -> tuple[int, list[str]]:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = [k for (k,) in conn.execute("SELECT key FROM auth_failures WHERE key LIKE 'w%'")]
    halves = {k[:-1] for k in keys if k.endswith("a")} ^ {k[:-1] for k in keys if k.endswith("b")}
    return len(keys) // 2, sorted(halves)


def test_backup_while_another_process_writes(tmp_path: Path, demo_data: Path) -> None:
    env = demo_copy(tmp_path, demo_data)
    url = f"sqlite:///{tmp_path / 'data' / 'newsdesk.db'}"
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(stop)], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "under way", writer.stderr
        seen = []
        for n in range(3):
            target = tmp_path / f"backup{n}.db"
            done = newsdesk(["db", "backup", str(target)], env, tmp_path)
            assert done.returncode == 0, done.stderr
            assert "119 stories" in done.stdout
            count, torn = pairs(target)
            assert torn == [], f"backup {n} caught a transaction half-way: {torn[:5]}"
            seen.append(count)
    finally:
        stop.touch()
        _, errors = writer.communicate(timeout=60)
    assert writer.returncode == 0, errors  # the writer never met "database is locked"
    assert seen[0] > 0 and seen == sorted(seen) and seen[-1] > seen[0], seen
    final, _ = pairs(tmp_path / "data" / "newsdesk.db")
    assert final > seen[-1]  # it kept writing after the last backup
    # the backup is a desk of its own: a newsdesk pointed at it lists the same sources
    listed = newsdesk(["sources", "list", "--json"],
                      env | {"NEWSDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'backup2.db'}"},
                      tmp_path)  # fmt: skip
    assert listed.returncode == 0 and "openai-blog" in listed.stdout


def test_backup_refuses_to_overwrite(tmp_path: Path, demo_data: Path) -> None:
    env = demo_copy(tmp_path, demo_data)
    existing = tmp_path / "keep.db"
    existing.write_text("precious")
    result = newsdesk(["db", "backup", str(existing)], env, tmp_path)
    assert_one_clear_line(result, "already exists", "--force")
    assert existing.read_text() == "precious"
    forced = newsdesk(["db", "backup", str(existing), "--force"], env, tmp_path)
    assert forced.returncode == 0 and existing.read_bytes().startswith(b"SQLite format 3")
    live = tmp_path / "data" / "newsdesk.db"
    itself = newsdesk(["db", "backup", str(live), "--force"], env, tmp_path)
    assert_one_clear_line(itself, "is the database itself")
    assert_one_clear_line(newsdesk(["db", "restore", str(live), "--yes"], env, tmp_path),
                          "is the database itself")  # fmt: skip


def stories(env: dict[str, str], tmp_path: Path) -> int:
    listed = newsdesk(["sources", "list", "--json"], env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    return sum(json.loads(line)["items_total"] for line in listed.stdout.splitlines())


def test_restore_refuses_then_restores_and_migrates(
    tmp_path: Path, web_server, demo_data: Path
) -> None:
    env = demo_copy(tmp_path, demo_data)
    live = tmp_path / "data" / "newsdesk.db"
    before = stories(env, tmp_path)

    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    old = tmp_path / "first_release.db"
    old.write_bytes(gzip.decompress((FIXTURES / "first_release" / "first_release.sqlite.gz")
                                    .read_bytes()))  # fmt: skip
    old_copy = old.read_bytes()

    assert_one_clear_line(newsdesk(["db", "restore", str(junk), "--yes"], env, tmp_path),
                          "not a newsdesk database", "not a SQLite file")  # fmt: skip
    assert_one_clear_line(newsdesk(["db", "restore", str(other), "--yes"], env, tmp_path),
                          "not a newsdesk database")  # fmt: skip
    refused = newsdesk(["db", "restore", str(old)], env, tmp_path)  # no --yes, no terminal
    assert_one_clear_line(refused, "holds a desk with 119 stories", "--yes")
    assert stories(env, tmp_path) == before

    # a server keeps the live file open throughout; it must see the restored desk
    base = web_server(env)
    assert httpx.get(f"{base}/api/v1/search", params={"q": "o3-mini"}).status_code == 200
    with sqlite3.connect(live) as conn:  # mark the live desk so the restore visibly replaces it
        conn.execute("DELETE FROM items WHERE id > 100")
    restored = newsdesk(["db", "restore", str(old), "--yes"], env, tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert "119 stories" in restored.stdout and "0001 →" in restored.stdout
    assert old.read_bytes() == old_copy  # the backup file itself is left as it was
    with sqlite3.connect(live) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 119
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert head != "0001"
    found = httpx.get(f"{base}/api/v1/items", params={"limit": 100}).json()["items"]
    assert any(item["id"] > 100 for item in found)  # served from the restored desk
    assert stories(env, tmp_path) == before  # the same demo feeds, read by the first release


def test_restore_into_a_fresh_place(tmp_path: Path, demo_data: Path) -> None:
    env = demo_copy(tmp_path, demo_data)
    backup = tmp_path / "b.db"
    assert newsdesk(["db", "backup", str(backup)], env, tmp_path).returncode == 0
    elsewhere = clean_env(tmp_path, NEWSDESK_DATA_DIR=str(tmp_path / "new-home"))
    restored = newsdesk(["db", "restore", str(backup)], elsewhere, tmp_path)  # nothing to lose
    assert restored.returncode == 0, restored.stderr
    assert stories(elsewhere, tmp_path) == stories(env, tmp_path)


@pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed")
def test_postgres_backup_and_restore(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL half")
    env = demo_desk(tmp_path, NEWSDESK_DATABASE_URL=database_url)
    before = stories(env, tmp_path)
    archive = tmp_path / "desk.dump"
    made = newsdesk(["db", "backup", str(archive)], env, tmp_path)
    assert made.returncode == 0, made.stderr
    assert "pg_dump" in made.stdout and archive.stat().st_size > 10_000
    removed = newsdesk(["sources", "remove", "openai-blog"], env, tmp_path)
    assert removed.returncode == 0, removed.stderr
    refused = newsdesk(["db", "restore", str(archive)], env, tmp_path)
    assert_one_clear_line(refused, "holds a desk with", "--yes")
    restored = newsdesk(["db", "restore", str(archive), "--yes"], env, tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert stories(env, tmp_path) == before
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"PGDMP but not really")
    bad = newsdesk(["db", "restore", str(junk), "--yes"], env, tmp_path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_backup_waits_for_nobody(tmp_path: Path, demo_data: Path) -> None:
    """A backup of a desk whose file another process holds a write transaction on still
    completes: WAL lets the copy read while the writer writes."""
    env = demo_copy(tmp_path, demo_data)
    live = tmp_path / "data" / "newsdesk.db"
    holder = sqlite3.connect(live, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("DELETE FROM auth_failures")
    try:
        started = time.monotonic()
        done = newsdesk(["db", "backup", str(tmp_path / "b.db")], env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - started < 60
    finally:
        holder.execute("ROLLBACK")
        holder.close()
