"""`newsdesk run --once --demo` killed with SIGKILL alone (its pid, not its process group, as
the OOM killer or `kill -9 PID` does) leaves no process of its own behind: its CPU pool's
forkserver, workers and resource tracker end with it instead of living on as orphans.
(The Procrastinate worker's case: tests/integration/test_workers.py.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from processes import left_behind, wait_for_pool

from .conftest import NEWSDESK, clean_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_a_pass_killed_alone_leaves_no_process_behind(tmp_path: Path) -> None:
    env = clean_env(tmp_path, NEWSDESK_DATABASE_URL=f"sqlite:///{tmp_path / 'desk.db'}")
    # a session of its own only so that the test can clean up if the assertion fails
    proc = subprocess.Popen([*NEWSDESK, "run", "--once", "--demo"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        pool = wait_for_pool(proc.pid, 120)  # collecting: the forkserver has its workers
        os.kill(proc.pid, signal.SIGKILL)  # the pass alone
        proc.wait()
        assert left_behind(pool, 15) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):  # whatever outlived it, not to leak
            os.killpg(proc.pid, signal.SIGKILL)
