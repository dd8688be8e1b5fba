"""A pass killed mid-way leaves its `pipeline_runs` row `running`; the next pass closes it as
`interrupted` (a dead process of this machine, or any run older than six hours) and leaves
a live one alone. Both engines."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from newsdesk.runner.local import STALE_RUN, _alive, _owner
from newsdesk.store import repo
from newsdesk.store import schema as t


def test_runs_left_running_by_dead_processes_are_closed(db) -> None:
    now = datetime.now(UTC)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process of this machine that has ended
    runs = {
        "dead": _owner(dead.pid) | {"pid": dead.pid},
        "live": _owner(os.getpid()),
        "elsewhere": {"host": "another-machine", "pid": 1, "start": None},
    }
    ids = {
        name: db.write_sync(lambda c, o=owner: repo.start_pipeline_run(c, now, o))
        for name, owner in runs.items()
    }
    old = db.write_sync(lambda c: repo.start_pipeline_run(
        c, now - STALE_RUN - timedelta(minutes=1), runs["elsewhere"]))  # fmt: skip
    me = _owner(os.getpid())
    closed = db.write_sync(lambda c: repo.close_interrupted_runs(c, now, me, _alive, STALE_RUN))
    with db.read() as conn:
        status = dict(conn.execute(select(t.pipeline_runs.c.id, t.pipeline_runs.c.status)).all())
    assert closed == 2
    assert status[ids["dead"]] == "interrupted" and status[old] == "interrupted"
    # still running: this very process, and a recent run of another machine
    assert status[ids["live"]] == "running" and status[ids["elsewhere"]] == "running"


def test_a_new_process_with_a_dead_ones_id_does_not_keep_its_run_open() -> None:
    # In a restarted container the new process is often pid 1 again: its start time differs.
    me = _owner(os.getpid())
    assert _alive(me)
    assert not _alive(me | {"start": "0"})
