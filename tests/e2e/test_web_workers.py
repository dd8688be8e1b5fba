"""`newsdesk web --workers N`: several server processes on one port, one desk. A session made
by one process is honoured by the others (sessions live in the database)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx

from .conftest import NEWSDESK, clean_env, free_port, newsdesk


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in found]


def test_two_server_processes_share_one_desk(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(tmp_path, NEWSDESK_PORT=str(port), NEWSDESK_ADMIN_PASSWORD="pw-for-tests",
                    NEWSDESK_PAGE_CACHE_SECONDS="0")  # fmt: skip
    assert newsdesk(["db", "upgrade"], env, tmp_path).returncode == 0
    command = [*NEWSDESK, "web", "--workers", "2"]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        servers: list[int] = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                servers = [p for p in children(proc.pid) if _serves(p)]
                up = httpx.get(base + "/healthz", timeout=1).status_code == 200
                if up and len(servers) >= 2:
                    break
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.5)
        assert len(servers) == 2, servers
        with httpx.Client(base_url=base, timeout=10) as client:
            page = client.get("/signin")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            assert client.post("/signin", data={"password": "pw-for-tests", "csrf": csrf},
                               follow_redirects=False).status_code in (200, 303)  # fmt: skip
            # new connections each time, so the kernel spreads them over both processes
            for _ in range(20):
                with httpx.Client(base_url=base, cookies=client.cookies, timeout=10) as fresh:
                    answer = fresh.get("/admin/budgets", follow_redirects=False)
                    assert answer.status_code == 200, answer.status_code
            metrics = httpx.get(base + "/metrics", timeout=10)
            assert metrics.status_code == 200 and "newsdesk_jobs" in metrics.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _serves(pid: int) -> bool:
    """A server process (uvicorn's children also include its resource tracker)."""
    try:
        return "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False
