"""`newsdesk run --once --demo` killed with SIGKILL alone (its pid, not its process group, as
the OOM killer or `kill -9 PID` does) leaves no process of its own behind: its CPU pool's
forkserver, workers and resource tracker end with it instead of living on as orphans; nor
does `newsdesk web --workers 2`, whose server processes kept answering on the port.
(The Procrastinate worker's case: tests/integration/test_workers.py.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from processes import cmdline, descendants, left_behind, wait_for_pool

from .conftest import NEWSDESK, clean_env, free_port, newsdesk

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


def test_a_killed_web_supervisor_takes_its_server_processes_with_it(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(tmp_path, NEWSDESK_DATABASE_URL=f"sqlite:///{tmp_path / 'desk.db'}",
                    NEWSDESK_PORT=str(port))  # fmt: skip
    assert newsdesk(["db", "upgrade"], env, tmp_path).returncode == 0
    proc = subprocess.Popen([*NEWSDESK, "web", "--workers", "2"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # up when both server processes exist and answer
            assert proc.poll() is None, "newsdesk web --workers 2 exited"
            servers = [p for p in descendants(proc.pid) if "spawn_main" in cmdline(p)]
            with contextlib.suppress(httpx.HTTPError):
                if len(servers) == 2 and httpx.get(f"http://127.0.0.1:{port}/healthz").is_success:
                    break
            time.sleep(0.2)
        processes = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the supervisor alone
        proc.wait()
        assert left_behind(processes, 15) == []
        with pytest.raises(httpx.HTTPError):  # nobody answers on the port any more
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
