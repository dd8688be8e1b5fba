"""The suite's own promises under pytest-xdist, as .ci/run relies on them: with
NEWSDESK_REQUIRE_POSTGRES=1 a PostgreSQL that cannot be reached fails the run (it is not
skipped), and a run in which no PostgreSQL test passed is not reported as a success.

Each test runs a real pytest on two workers over a copy of tests/conftest.py (and the
db_templates.py it imports) and a probe test that takes `db`, so it sees what CI would see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CLOSED = "postgresql://postgres@127.0.0.1:9/test"  # the discard port: nothing listens there
PROBE = """
def test_probe(db):
    assert db.engine.dialect.name in ("sqlite", "postgresql")
"""


def run_suite(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    shutil.copy(TESTS / "db_templates.py", tmp_path / "db_templates.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env |= {"NEWSDESK_TEST_DATABASE_URL": CLOSED, "NEWSDESK_REQUIRE_POSTGRES": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "-q", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_unreachable_postgres_fails_the_run_under_xdist(tmp_path: Path) -> None:
    done = run_suite(tmp_path)
    assert done.returncode == 1, done.stdout
    assert "PostgreSQL expected at" in done.stdout and "unreachable" in done.stdout
    assert "1 passed, 1 error" in done.stdout and "skipped" not in done.stdout


def test_a_run_with_no_postgres_test_passed_fails_under_xdist(tmp_path: Path) -> None:
    done = run_suite(tmp_path, "-k", "sqlite")
    assert done.returncode == 1, done.stdout
    assert "no PostgreSQL test passed" in done.stdout
    assert "\n1 passed in " in done.stdout  # the sqlite half ran, and passed
