"""Real `newsdesk worker` processes on a PostgreSQL database of their own.

Two workers over the demo feeds give the desk `run_once` gives; a worker killed with SIGKILL
while the model is judging leaves its jobs to the other one, and no request body that got an
answer is paid twice; a source locked by one worker is not fetched by the other.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from conftest import PG_URL, Route
from fakes.fake_llm import FakeLLM
from newsdesk.config import load_settings
from newsdesk.policy import load_policy
from newsdesk.runner.demo import DemoFeedServer
from newsdesk.runner.local import run_once
from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
from newsdesk.store import queue as store_queue
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade
from processes import left_behind, wait_for_pool

pytestmark = pytest.mark.skipif(not PG_URL, reason="NEWSDESK_TEST_DATABASE_URL is not set")
POLICY = Path(__file__).parents[2] / "src" / "newsdesk" / "policy" / "editorial.md"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A whole database of its own (workers share it; tests never share one)."""
    import psycopg

    name = f"steps_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """The demo feeds on a local server, as a catalog file; a policy whose first import takes
    the 2025 snapshot (the shipped one keeps 12 months)."""
    with DemoFeedServer() as base:
        text = DEMO_CATALOG.read_text(encoding="utf-8").replace("{demo}", base)
        catalog = tmp_path / "catalog.toml"
        catalog.write_text(text, encoding="utf-8")
        policy = tmp_path / "editorial.md"
        policy.write_text(
            POLICY.read_text(encoding="utf-8").replace(
                "first_import_window_days = 365", "first_import_window_days = 100000"
            ),
            encoding="utf-8",
        )
        yield catalog, policy


def environment(url: str, catalog: Path, policy: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    return env | {
        "NEWSDESK_DATABASE_URL": url,
        "NEWSDESK_CATALOG": str(catalog),
        "NEWSDESK_POLICY_PATH": str(policy),
        "NEWSDESK_ALLOW_PRIVATE_URLS": "true",
        "NEWSDESK_FULLTEXT_ENABLED": "false",  # the demo's stories link to real sites
        # settle waits and retries are picked up within 0.5 s rather than 2 s
        "NEWSDESK_WORKER_POLL_SECONDS": "0.5",
        # grouping 1 s and judging 2 s after a tick's stories rather than 5 and 10: the demo's
        # 16 feeds are collected by then (a story judged before its coverage grew is judged
        # again, which only the comparison with run_once counts)
        "NEWSDESK_WORKER_SETTLE_SECONDS": "2",
        **extra,
    }


# A killed worker's jobs run again within 10 s (6 s of silence, a check every 4 s) instead of
# 25 s: the same mechanism with shorter waits (docs/operations.md).
QUICK_STALL = {"NEWSDESK_WORKER_STALLED_SECONDS": "6"}


def newsdesk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsdesk", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=True)  # fmt: skip


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "newsdesk", "worker", "--concurrency", "4", "--log-level",
             "info"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its parse processes at once, as a lost machine would."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.kill()


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def idle(db: Database) -> bool:
    """No step job waiting or running, nothing left to group, and every story judged or
    marked with the reason it is not (a call held after the kill)."""
    with db.read() as conn:
        status = store_queue.status(conn)
        ungrouped = conn.execute(
            select(func.count())
            .select_from(t.items)
            .outerjoin(t.event_members, t.event_members.c.item_id == t.items.c.id)
            .where(t.event_members.c.item_id.is_(None))
        ).scalar_one()
        waiting = conn.execute(
            select(func.count())
            .select_from(t.items)
            .where(t.items.c.judgement_id.is_(None), t.items.c.judge_error.is_(None))
        ).scalar_one()
    busy = sum(q["todo"] + q["doing"] for name, q in status["queues"].items() if name != "outputs")
    return busy == 0 and ungrouped == 0 and waiting == 0


def desk(db: Database) -> dict[str, Any]:
    with db.read() as conn:
        i, m = t.items.c, t.event_members.c
        tiers = {r.identity_key: r.tier for r in conn.execute(select(i.identity_key, i.tier))}
        by_event: dict[int, set[str]] = {}
        for key, event_id in conn.execute(
            select(i.identity_key, m.event_id).join(t.event_members, m.item_id == i.id)
        ):
            by_event.setdefault(event_id, set()).add(key)
        judgements = conn.execute(select(func.count()).select_from(t.judgements)).scalar_one()
    return {"tiers": tiers, "events": sorted(sorted(s) for s in by_event.values()),
            "judgements": judgements}  # fmt: skip


def reference_desk(tmp_path: Path, catalog: Path, policy_path: Path, **settings: Any) -> dict:
    import asyncio

    db = Database(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(db)
    try:
        s = load_settings(allow_private_urls=True, fulltext_enabled=False, **settings)
        policy = load_policy(policy_path)
        asyncio.run(run_once(db, s, policy, catalog=load_catalog(catalog)))
        return desk(db)
    finally:
        db.close()


def run_workers_until_idle(env, tmp_path, url, catalog, policy_path, during=None) -> None:
    newsdesk(env, "db", "upgrade")  # migrations (and the queue's schema) once, before workers
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [start_worker(env, log) for log in logs]
    db = Database(url)
    try:
        wait_for(lambda: _count(db, t.items) > 0, 150, "the first tick to collect stories")
        if during is not None:
            during(workers, db)
        wait_for(lambda: idle(db), 240, "the workers to finish")
    except AssertionError:
        for log in logs:
            print(log.read_text(errors="replace")[-4000:])
        raise
    finally:
        stop(workers)
        db.close()


def tracebacks(folder: Path) -> str:
    """What the workers' logs say of failed tasks (for an assertion's message)."""
    found = []
    for log in sorted(folder.glob("worker-*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for n, line in enumerate(lines):
            if "Traceback" in line or " failed" in line.lower():
                found.append(f"{log.name}: " + "\n".join(lines[max(0, n - 2) : n + 25]))
    return "\n---\n".join(found)[-8000:]


def _count(db: Database, table: Any, *where: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def test_two_workers_give_the_run_once_desk(pg_url, feeds, tmp_path) -> None:
    catalog, policy = feeds
    expected = reference_desk(tmp_path, catalog, policy)
    # the shipped settle: each story judged once, with its tick's coverage, as run_once does
    env = environment(pg_url, catalog, policy, NEWSDESK_WORKER_SETTLE_SECONDS="10")
    run_workers_until_idle(env, tmp_path, pg_url, catalog, policy)
    db = Database(pg_url)
    try:
        found = desk(db)
        with db.read() as conn:
            status = store_queue.status(conn)
    finally:
        db.close()
    assert found == expected
    assert all(q["failed"] == 0 for q in status["queues"].values()), status


def test_a_worker_killed_while_judging_pays_no_answer_twice(pg_url, feeds, tmp_path) -> None:
    catalog, policy = feeds
    with FakeLLM(latency=0.3) as fake:
        model = {"NEWSDESK_LLM_BASE_URL": fake.base_url, "NEWSDESK_LLM_MODEL": "fake-editor"}
        env = environment(pg_url, catalog, policy, **model, **QUICK_STALL)

        def kill_one_mid_judge(workers: list[subprocess.Popen[bytes]], db: Database) -> None:
            wait_for(lambda: sum(e.schema == "judgement" for e in fake.log) >= 10, 150,
                     "the model to be judging")  # fmt: skip
            kill(workers[0])

        run_workers_until_idle(env, tmp_path, pg_url, catalog, policy, during=kill_one_mid_judge)
        paid_twice = fake.paid_twice()
        calls = len(fake.log)
    db = Database(pg_url)
    try:
        with db.read() as conn:
            i = t.items.c
            unjudged = conn.execute(select(i.id).where(i.judgement_id.is_(None))).all()
            by_rules = conn.execute(select(i.judge_error).where(i.judge_error.is_not(None))).all()
            items = _count(db, t.items)
            by_model = _count(db, t.judgements, t.judgements.c.fallback.is_(None))
            judged_by_model = _count(db, t.items, i.judge_error.is_(None))
            jobs = store_queue.status(conn)
    finally:
        db.close()
    assert items > 0 and calls > 10
    assert paid_twice == []  # no request body that got its answer was sent again
    assert unjudged == []  # every story judged: by the model, or by the rules meanwhile
    assert by_model == judged_by_model == items - len(by_rules)  # none judged twice by the model
    # The killed worker's jobs were retried by the survivor: nothing is left running or failed.
    # Only calls that were on the wire at the kill are not the model's: their outcome is
    # unknown, so they are held (NEWSDESK_LLM_UNKNOWN_HOLD_MINUTES), not paid again, and the
    # rules editor judged those stories meanwhile.
    assert all("held" in r.judge_error for r in by_rules), by_rules
    assert len(by_rules) <= 8  # NEWSDESK_LLM_CONCURRENCY: only calls on the wire are held
    assert all(q["failed"] == 0 for q in jobs["queues"].values()), (jobs, tracebacks(tmp_path))
    assert all(q["doing"] == 0 for n, q in jobs["queues"].items() if n != "outputs"), jobs


LAB = (Path(__file__).parents[1] / "fixtures" / "lab.xml").read_bytes()


class SlowFeed:
    """A feed that takes `seconds` to answer and remembers how many requests overlapped."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.inside, self.most, self.started = seconds, 0, 0, 0
        self.lock = threading.Lock()

    def __call__(self, handler: Any) -> None:
        with self.lock:
            self.inside += 1
            self.started += 1
            self.most = max(self.most, self.inside)
        try:
            time.sleep(self.seconds)
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(LAB)))
            handler.end_headers()
            handler.wfile.write(LAB)
        finally:
            with self.lock:
                self.inside -= 1


def one_source_catalog(tmp_path: Path, url: str) -> Path:
    catalog = tmp_path / "one.toml"
    catalog.write_text(
        f'[[source]]\nid = "lab"\nname = "Example Lab"\nurl = "{url}"\nkind = "rss"\n'
        'group = "vendor-official"\nlanguage = "en"\ntier = "T1"\n', encoding="utf-8"
    )  # fmt: skip
    return catalog


def fetch_runs(db: Database) -> int:
    return _count(db, t.fetch_runs)


def test_a_source_locked_by_one_worker_is_not_fetched_by_another(
    pg_url, feeds, server, tmp_path
) -> None:
    import asyncio

    from newsdesk.runner.worker import defer, make_app

    _, policy = feeds
    slow = SlowFeed(3.0)
    catalog = one_source_catalog(tmp_path, server.add("/lab.xml", Route(handler=slow)))
    env = environment(pg_url, catalog, policy)
    newsdesk(env, "db", "upgrade")
    db = Database(pg_url)
    db.write_sync(lambda c: repo.upsert_sources(c, load_catalog(catalog), datetime.now(UTC)))

    async def three_jobs_for_one_source() -> None:  # past the queueing lock, on purpose
        settings = load_settings(database_url=pg_url)
        async with make_app(settings).open_async() as app:
            for _ in range(3):
                await defer(app, "collect", ["lab"], queueing_lock=None)

    asyncio.run(three_jobs_for_one_source())
    workers = [start_worker(env, tmp_path / f"lock-{n}.log") for n in (1, 2)]
    try:
        wait_for(lambda: fetch_runs(db) >= 1 and idle(db), 120, "the jobs to run")
        time.sleep(3)  # a second fetch, had it started, would be seen by now
    finally:
        stop(workers)
    try:
        assert slow.most == 1  # never two fetches of the source at once
        assert slow.started == 1 and fetch_runs(db) == 1  # later jobs found it no longer due
        assert _count(db, t.items) == 3
    finally:
        db.close()


def test_a_worker_killed_while_collecting_leaves_the_source_to_another(
    pg_url, feeds, server, tmp_path
) -> None:
    _, policy = feeds
    slow = SlowFeed(6.0)
    catalog = one_source_catalog(tmp_path, server.add("/lab.xml", Route(handler=slow)))
    env = environment(pg_url, catalog, policy, **QUICK_STALL)
    newsdesk(env, "db", "upgrade")
    first = start_worker(env, tmp_path / "collect-1.log")
    db = Database(pg_url)
    try:
        wait_for(lambda: slow.started >= 1, 150, "the first tick to start fetching")
        kill(first)  # mid-fetch: nothing stored yet
        assert _count(db, t.items) == 0 and fetch_runs(db) == 0
        second = start_worker(env, tmp_path / "collect-2.log")
        try:
            wait_for(lambda: fetch_runs(db) == 1 and idle(db), 150, "the survivor to collect")
        except AssertionError:
            for log in ("collect-1.log", "collect-2.log"):
                print(log, (tmp_path / log).read_text(errors="replace")[-6000:])
            raise
        finally:
            stop([second])
        with db.read() as conn:
            status = store_queue.status(conn)
            titles = conn.execute(select(t.items.c.title)).scalars().all()
        assert len(titles) == len(set(titles)) == 3  # every story once
        assert slow.started == 2  # fetched again by the survivor, once
        assert status["queues"]["collect"]["doing"] == 0 and status["stalled"] == 0
    finally:
        db.close()


def test_a_worker_killed_alone_leaves_no_process_behind(pg_url, feeds, tmp_path) -> None:
    """SIGKILL of the worker's pid only (the OOM killer, `kill -9 PID`): its CPU pool's
    forkserver, workers and resource tracker end with it instead of living on as orphans."""
    catalog, policy = feeds
    env = environment(pg_url, catalog, policy)
    newsdesk(env, "db", "upgrade")
    worker = start_worker(env, tmp_path / "alone.log")
    try:
        pool = wait_for_pool(worker.pid, 150)  # its first tick is collecting
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        assert left_behind(pool, 15) == []
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever outlived it, not to leak
            kill(worker)


def test_a_failing_task_is_retried_with_backoff_then_recorded(pg_url, feeds, tmp_path) -> None:
    import asyncio

    from newsdesk.runner.worker import RETRIES, Backoff, make_app

    _, policy = feeds
    # the first retry after 0.1 s instead of 2 s: the same doubling waits, 20 times shorter
    env = environment(pg_url, tmp_path / "none.toml", policy, NEWSDESK_WORKER_RETRY_SECONDS="0.1")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    newsdesk(env, "db", "upgrade")

    async def broken_job() -> None:  # a step that does not exist raises on every attempt
        async with make_app(load_settings(database_url=pg_url)).open_async() as app:
            await app.configure_task("newsdesk:step", queue="editor").defer_async(
                step="no_such_step", ids=[1]
            )

    asyncio.run(broken_job())
    worker = start_worker(env, tmp_path / "fail.log")
    db = Database(pg_url)

    def attempts() -> tuple[str, int]:
        with db.read() as conn:
            row = conn.execute(text(
                "SELECT status::text, attempts FROM procrastinate_jobs WHERE queue_name='editor'"
            )).one()  # fmt: skip
        return row[0], int(row[1])

    try:
        wait_for(lambda: attempts()[0] == "failed", 120, "the job to fail for good")
    finally:
        stop([worker])
    try:
        assert attempts() == ("failed", RETRIES + 1)  # the first run and 6 retries
        with db.read() as conn:
            events = conn.execute(text(
                "SELECT e.type::text, e.at FROM procrastinate_events e JOIN procrastinate_jobs j "
                "ON j.id = e.job_id WHERE j.queue_name = 'editor' ORDER BY e.id"
            )).all()  # fmt: skip
        # Each failure scheduled the next run after a wait twice the one before it, and no run
        # started before its time.
        retried = [at for kind, at in events if kind == "deferred_for_retry"]
        scheduled = [at for kind, at in events if kind == "scheduled"]
        started = [at for kind, at in events if kind == "started"]
        assert len(retried) == len(scheduled) == RETRIES and len(started) == RETRIES + 1
        waits = [(due - failed).total_seconds()
                 for failed, due in zip(retried, scheduled, strict=True)]  # fmt: skip
        planned = [Backoff(0.1).wait(n) for n in range(RETRIES)]
        assert planned == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2])
        # (the failure is stamped by PostgreSQL a moment after the worker chose the time)
        assert all(p - 0.3 <= w <= p + 0.05 for w, p in zip(waits, planned, strict=True)), waits
        assert waits[-1] > waits[-2] > waits[-3] > waits[-4], waits
        assert all(run >= due for run, due in zip(started[1:], scheduled, strict=True))
        shown = json.loads(newsdesk(env, "queue", "status", "--json").stdout)
        assert shown["queues"]["editor"]["failed"] == 1
        assert "1 failed job(s) back" in newsdesk(env, "queue", "retry").stdout
        assert attempts()[0] == "todo"
    finally:
        db.close()
