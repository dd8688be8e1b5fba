"""`newsdesk db upgrade` killed with SIGKILL at random moments never wedges the database.

Each revision runs in one transaction (SQLite included), so after any kill the database is
exactly at one whole revision: its recorded version and its tables agree, and the next
upgrade finishes. Before that fix a kill during the first upgrade on SQLite left 4 of 35
tables and no recorded version, and every later command failed.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from newsdesk.store.db import Database
from newsdesk.store.migrate import alembic_config, current_revision, head_from_files, upgrade

from .conftest import NEWSDESK, clean_env

KILLS = 6


def tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
    # FTS5's shadow tables come and go with items_fts and items_words; alembic_version is
    # Alembic's own.
    shadows = ("items_fts_", "items_words_")
    return {n for n in names if n != "alembic_version" and not n.startswith(shadows)}


def tables_at_each_revision(url: str) -> tuple[dict[str | None, set[str]], dict[str, float]]:
    """Upgrade a reference database one revision at a time: its tables and the seconds it
    took at each revision."""
    db = Database(url)
    try:
        script = ScriptDirectory.from_config(alembic_config(db))
        chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
        expected: dict[str | None, set[str]] = {None: set()}
        seconds: dict[str, float] = {}
        for revision in chain:
            started = time.monotonic()
            upgrade(db, revision)
            seconds[revision] = time.monotonic() - started
            expected[revision] = tables(db)
        return expected, seconds
    finally:
        db.close()


def fresh_url(database_url: str, tmp_path: Path, n: int, request) -> str:
    """A new empty database of the same engine for each kill (PostgreSQL: a schema of its
    own, dropped after the test)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'kill-{n}.db'}"

    import psycopg

    base, _, _ = database_url.partition("?")
    schema = f"{database_url.rsplit('%3D', 1)[-1]}_k{n}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    request.addfinalizer(drop)
    return f"{base}?options=-csearch_path%3D{schema}"


def test_upgrade_killed_at_random_moments_always_resumes(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    expected, seconds = tables_at_each_revision(database_url)
    chain = [rev for rev in expected if rev is not None]
    env = clean_env(tmp_path)
    rng = random.Random()
    interrupted = 0
    for n in range(KILLS):
        url = fresh_url(database_url, tmp_path, n, request)
        # `db upgrade` prints "applying REV: …" as each revision starts: kill it at a random
        # moment inside a random revision (or just after it).
        target = rng.choice(chain)
        proc = subprocess.Popen(
            [*NEWSDESK, "db", "upgrade"], env=env | {"NEWSDESK_DATABASE_URL": url},
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(f"applying {target}:"):
                time.sleep(rng.uniform(0, seconds[target]))
                break
        proc.kill()
        proc.wait(timeout=30)
        db = Database(url)
        try:
            revision = current_revision(db)
            interrupted += revision != chain[-1]
            assert tables(db) == expected[revision], f"killed in {target}, found {revision}"
            upgrade(db)  # resumes from the last whole revision
            assert current_revision(db) == chain[-1]
            assert tables(db) == expected[chain[-1]]
        finally:
            db.close()
    # The kills must have interrupted upgrades, or the test proved nothing.
    assert interrupted >= KILLS // 4, f"only {interrupted} of {KILLS} kills interrupted it"


def upgrade_cli(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(tmp_path) | {"NEWSDESK_DATABASE_URL": url}
    return subprocess.run(
        [*NEWSDESK, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_tables_without_a_recorded_version_say_what_to_do(tmp_path: Path) -> None:
    """What a kill during an older newsdesk's first upgrade left behind."""
    path = tmp_path / "wedged.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE budgets (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE sources (id TEXT PRIMARY KEY)")
    line = one_error_line(upgrade_cli(tmp_path, f"sqlite:///{path}"))
    assert "2 newsdesk tables but no recorded schema version" in line
    assert f"move {path} aside" in line


def test_a_schema_ahead_of_its_recorded_version_says_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ahead.db'}"
    db = Database(url)
    upgrade(db, "0006_outputs")
    db.write_sync(lambda conn: conn.exec_driver_sql("CREATE TABLE event_judgements (id INT)"))
    db.close()
    line = one_error_line(upgrade_cli(tmp_path, url))
    assert "ahead of its recorded version (0006_outputs)" in line
    assert "event_judgements already exists" in line


def test_a_database_from_a_newer_newsdesk_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    db = Database(url)
    upgrade(db)
    db.write_sync(
        lambda conn: conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_x'")
    )
    db.close()
    line = one_error_line(upgrade_cli(tmp_path, url))
    assert "schema revision 0099_x, which this newsdesk does not know" in line


def test_the_quick_head_is_alembics_head(tmp_path: Path) -> None:
    """Commands skip Alembic at head by reading the newest revision file; that must be the
    head Alembic computes from the whole chain."""
    db = Database(f"sqlite:///{tmp_path / 'head.db'}")
    try:
        assert (
            head_from_files() == ScriptDirectory.from_config(alembic_config(db)).get_current_head()
        )
    finally:
        db.close()


def test_a_command_at_head_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'at-head.db'}"
    db = Database(url)
    upgrade(db)
    db.close()
    probe = (
        "import sys; from newsdesk.store.db import Database; "
        "from newsdesk.store.migrate import upgrade; "
        f"upgrade(Database({url!r})); print('alembic' in sys.modules)"
    )
    done = subprocess.run([NEWSDESK[0], "-c", probe], capture_output=True, text=True,
                          env=clean_env(tmp_path), timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
