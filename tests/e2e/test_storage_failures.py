"""The database fails under a running pass: a real full disk (a tmpfs shrunk to just above
what the desk uses) and a PostgreSQL database that goes away (its connections terminated and
refused). Either way the command ends with one line naming the cause and exit code 1, nothing
is corrupted, and the next pass, once space or the server is back, ends where an uninterrupted
run ends."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from conftest import PG_URL
from fakes.fake_llm import FakeLLM
from newsdesk.config import load_settings
from newsdesk.store.db import Database
from newsdesk.web.app import create_app

from .conftest import NEWSDESK, clean_env, newsdesk


def one_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert lines[0].startswith("error:")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def sqlite_desk(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return {
            "stories": sorted(r[0] for r in conn.execute("SELECT identity_key FROM items")),
            "unjudged": conn.execute(
                "SELECT count(*) FROM items WHERE judgement_id IS NULL").fetchone()[0],
            "ungrouped": conn.execute(
                "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM event_members)"
            ).fetchone()[0],
        }  # fmt: skip


def used_kib(mount: Path) -> int:
    stat = os.statvfs(mount)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize // 1024


def test_full_disk_during_a_pass(tmp_path: Path, tmpfs) -> None:
    disk = tmpfs("disk", size="16m")
    env = clean_env(tmp_path, NEWSDESK_DATA_DIR=str(disk))
    assert newsdesk(["db", "upgrade"], env, tmp_path).returncode == 0
    # leave room for a few stories only: the pass fills the disk while it collects
    room = used_kib(disk) + 160
    subprocess.run(["mount", "-o", f"remount,size={room}k", str(disk)], check=True)
    full = newsdesk(["run", "--once", "--demo"], env, tmp_path)
    one_line(full, "out of space", "database or disk is full", str(disk / "newsdesk.db"))
    interrupted = sqlite_desk(disk / "newsdesk.db")  # intact, keys kept
    assert 0 < len(interrupted["stories"]) < 119  # type: ignore[arg-type]

    subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
    resumed = newsdesk(["run", "--once", "--demo"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr

    reference = clean_env(tmp_path, NEWSDESK_DATA_DIR=str(tmp_path / "reference"))
    assert newsdesk(["run", "--once", "--demo"], reference, tmp_path).returncode == 0
    expected = sqlite_desk(tmp_path / "reference" / "newsdesk.db")
    assert sqlite_desk(disk / "newsdesk.db") == expected
    assert expected["unjudged"] == 0 and expected["ungrouped"] == 0


@pytest.fixture
def own_database():
    """A PostgreSQL database of this test's own (connections to it can be refused without
    touching anyone else's), dropped afterwards."""
    if not PG_URL:
        pytest.skip("NEWSDESK_TEST_DATABASE_URL is not set: PostgreSQL half not run")
    name = f"hard_ops_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(PG_URL, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}", name, admin
    admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


def pg_desk(url: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        return {
            "stories": sorted(r[0] for r in conn.execute("SELECT identity_key FROM items")),
            "unjudged": conn.execute(
                "SELECT count(*) FROM items WHERE judgement_id IS NULL").fetchone()[0],
            "ungrouped": conn.execute(
                "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM event_members)"
            ).fetchone()[0],
            "judged_twice": conn.execute(
                "SELECT count(*) FROM (SELECT item_id FROM judgements GROUP BY item_id, "
                "policy_version HAVING count(*) > 1) AS twice").fetchone()[0],
        }  # fmt: skip


def test_postgres_goes_away_during_a_pass(tmp_path: Path, own_database) -> None:
    url, name, admin = own_database
    with FakeLLM(latency=0.2) as fake:  # judging takes a while: time to pull the plug
        env = clean_env(tmp_path, NEWSDESK_DATABASE_URL=url, NEWSDESK_LLM_BASE_URL=fake.base_url,
                        NEWSDESK_LLM_MODEL="fake-editor", NEWSDESK_LLM_CONCURRENCY="2")  # fmt: skip
        run = subprocess.Popen(
            [*NEWSDESK, "run", "--once", "--demo"], env=env, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 240
        judged = 0
        while judged < 10 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
            with psycopg.connect(url) as probe:
                found = probe.execute("SELECT to_regclass('judgements')").fetchone()
                if found and found[0]:
                    judged = probe.execute("SELECT count(*) FROM judgements").fetchone()[0]
        assert run.poll() is None, run.communicate()
        # the server goes away: open connections cut, new ones refused
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))  # fmt: skip
        stdout, stderr = run.communicate(timeout=240)
        result = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
        one_line(result, "lost the database", name)
        # meanwhile the web desk answers 503 with Retry-After, not a traceback
        db = Database(url)
        try:
            page = TestClient(create_app(load_settings(), db)).get("/api/v1/items")
        finally:
            db.close()
        assert page.status_code == 503 and page.headers["retry-after"] == "30"
        assert "unavailable" in page.text and name not in page.text

        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        interrupted = pg_desk(url)
        assert interrupted["unjudged"] > 0  # it really stopped half-way through judging
        # calls that were on the wire when the server went away have an unknown outcome and
        # are held for NEWSDESK_LLM_UNKNOWN_HOLD_MINUTES (30) so they are never paid twice;
        # this test re-sends them at once
        env["NEWSDESK_LLM_UNKNOWN_HOLD_MINUTES"] = "0"
        # two calls at a time gave the first pass time to be cut; the resumed pass need not wait
        env["NEWSDESK_LLM_CONCURRENCY"] = "8"
        resumed = newsdesk(["run", "--once", "--demo"], env, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        after = pg_desk(url)
    assert after["stories"] == interrupted["stories"] and len(after["stories"]) == 119
    assert after["unjudged"] == 0 and after["ungrouped"] == 0 and after["judged_twice"] == 0
