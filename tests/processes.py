"""The processes a `newsdesk` command started, read from /proc (Linux): for tests that kill
the command alone and check that none of them lives on."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread or the process ended meanwhile
            found += [int(p) for p in task.read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    found, todo = [], children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children(child)
    return found


def alive(pid: int) -> bool:
    """Running or sleeping: an ended process waiting to be reaped (a zombie) is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for_pool(pid: int, seconds: float) -> list[int]:
    """Wait until the CPU pool of process `pid` has a worker (a child of its forkserver);
    the processes under `pid` then."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive(pid):
        for child in children(pid):
            if "multiprocessing.forkserver" in cmdline(child) and children(child):
                return descendants(pid)
        time.sleep(0.05)
    raise AssertionError(f"process {pid} started no CPU pool within {seconds} s")


def left_behind(pids: list[int], seconds: float) -> list[str]:
    """The processes of `pids` still alive after up to `seconds`, with their command lines."""
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [f"{p}: {cmdline(p)[:120]}" for p in pids if alive(p)]
