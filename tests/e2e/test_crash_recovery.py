"""`newsdesk run --once --demo` killed with SIGKILL at several moments, and started again,
ends with the desk an uninterrupted run makes: the same stories, judgements, events,
commentary and reports. Both engines, with the fake model.

One desk is killed four times in a row (while collecting, grouping, judging and commenting),
each restart resuming from what the last one stored; then a pass runs to the end, and a
last one runs as it would once the hold on calls of unknown outcome has passed
(`NEWSDESK_LLM_UNKNOWN_HOLD_MINUTES=0`). After each kill at most `NEWSDESK_LLM_CONCURRENCY`
more receipts are pending (only the calls really on the wire), and every killed pass's run
row ends `interrupted`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fakes.fake_llm import FakeLLM
from newsdesk.store import schema as t
from newsdesk.store.db import Database

from .conftest import NEWSDESK, clean_env, newsdesk

CONCURRENCY = 8
RUN = ["run", "--once", "--demo"]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    # Slow enough that each model phase lasts a moment the test can kill it in.
    with FakeLLM(latency=0.08) as server:
        yield server


@pytest.fixture(scope="module")
def reference(fake: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The desk of one uninterrupted pass (SQLite; what it holds does not depend on the
    engine)."""
    where = tmp_path_factory.mktemp("reference")
    env = _env(where, fake, f"sqlite:///{where / 'desk.db'}")
    done = newsdesk(RUN, env, where)
    assert done.returncode == 0, done.stderr
    return desk(f"sqlite:///{where / 'desk.db'}")


def _env(where: Path, fake: FakeLLM, url: str) -> dict[str, str]:
    return clean_env(where, NEWSDESK_DATABASE_URL=url, NEWSDESK_LLM_BASE_URL=fake.base_url,
                     NEWSDESK_LLM_MODEL="fake-editor",
                     NEWSDESK_LLM_CONCURRENCY=str(CONCURRENCY))  # fmt: skip


def test_killed_passes_end_with_the_uninterrupted_desk(
    database_url: str, tmp_path: Path, fake: FakeLLM, reference: dict[str, Any]
) -> None:
    env = _env(tmp_path, fake, database_url)

    def calls(schema: str) -> Callable[[], int]:
        start = len(fake.log)
        return lambda: sum(e.schema == schema for e in fake.log[start:])

    kills: list[tuple[str, Callable[[], Callable[[], int]], int]] = [
        ("collecting", lambda: lambda: _count(database_url, t.items), 40),
        ("grouping", lambda: calls("relation"), 10),
        ("judging", lambda: calls("judgement"), 30),
        ("commenting", lambda: calls("commentary"), 4),
    ]
    try:
        for moment, progress, enough in kills:
            pending = _pending(database_url)
            _kill_when(env, tmp_path, progress(), enough, moment)
            # only calls on the wire are held: their receipts were marked sent with a slot held
            assert _pending(database_url) - pending <= CONCURRENCY, moment

        resumed = newsdesk(RUN, env, tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        later = newsdesk(RUN, env | {"NEWSDESK_LLM_UNKNOWN_HOLD_MINUTES": "0"}, tmp_path)
        assert later.returncode == 0, later.stderr
    finally:
        if database_url in _watchers:
            _watchers.pop(database_url).close()
    found = desk(database_url)
    for part in ("stories", "events", "commentary", "reports"):
        assert found[part] == reference[part], _first_difference(found[part], reference[part])
    assert found["runs"] == {"interrupted": len(kills), "ok": 2}
    assert found["errors"] == 0  # every story and event ends judged by the model


def _kill_when(
    env: dict[str, str], cwd: Path, progress: Callable[[], int], enough: int, moment: str
) -> None:
    proc = subprocess.Popen([*NEWSDESK, *RUN], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 240
    try:
        while progress() < enough and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the pass ended before it was killed while {moment}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the pass and its CPU workers, at once
        proc.wait()


_watchers: dict[str, Database] = {}


def _count(url: str, table: Any, *where: Any) -> int:
    # One connection per database for the whole test: the watch loop asks many times a second,
    # and a new engine per question cost the test process more CPU than the pass it watched.
    db = _watchers.get(url) or _watchers.setdefault(url, Database(url))
    try:
        with db.read() as conn:
            query = select(func.count()).select_from(table).where(*where)
            return int(conn.execute(query).scalar_one())
    except Exception:  # the first pass may not have made its tables yet
        return 0


def _pending(url: str) -> int:
    return _count(url, t.receipts, t.receipts.c.status == "pending")


def desk(url: str) -> dict[str, Any]:
    """What readers are shown, keyed by what does not depend on arrival order (story ids do):
    each story's current verdict, each event's stories, lead, coverage and verdict, the
    commentary shown (the newest), and the reports with story links made ids-free."""
    db = Database(url)
    try:
        with db.read() as conn:
            return _desk(conn)
    finally:
        db.close()


def _desk(conn: Any) -> dict[str, Any]:
    items = {r.id: r for r in conn.execute(select(t.items))}
    key = {i: r.identity_key for i, r in items.items()}
    judgements = {r.id: r for r in conn.execute(select(t.judgements))}
    verdict_columns = ("editor", "tier", "importance", "hook", "knowledge", "resonance",
                       "tags", "title_en", "summary_en", "why", "fallback")  # fmt: skip

    def verdict(row: Any) -> Any:
        return None if row is None else tuple(str(getattr(row, c)) for c in verdict_columns)

    stories = {key[i]: verdict(judgements.get(r.judgement_id)) for i, r in items.items()}
    members: dict[int, list[str]] = {}
    for m in conn.execute(select(t.event_members)):
        members.setdefault(m.event_id, []).append(f"{key[m.item_id]} {m.relation}")
    event_judgements = {r.id: r for r in conn.execute(select(t.event_judgements))}
    events, event_key = {}, {}
    for e in conn.execute(select(t.events)):
        event_key[e.id] = " | ".join(sorted(members.get(e.id, [])))
        events[event_key[e.id]] = (key.get(e.lead_item_id), e.title_en, e.sources_count,
                                   verdict(event_judgements.get(e.judgement_id)))  # fmt: skip
    commentary = {}
    for c in conn.execute(select(t.commentary).order_by(t.commentary.c.id)):
        owner = f"story {key[c.item_id]}" if c.item_id else f"event {event_key[c.event_id]}"
        commentary[owner] = (c.take_en, c.sharp_en, c.take_zh, c.sharp_zh)  # the newest

    def no_ids(markdown: str) -> str:
        return re.sub(r"/items/(\d+)", lambda m: f"/items/<{key[int(m.group(1))]}>", markdown)

    reports = {f"{r.kind} {r.period}": no_ids(r.markdown) for r in conn.execute(select(t.reports))}
    r = t.pipeline_runs.c
    runs = dict(conn.execute(select(r.status, func.count()).group_by(r.status)).all())
    errors = sum(x.judge_error is not None for x in items.values())
    errors += conn.execute(
        select(func.count()).select_from(t.events).where(t.events.c.judge_error.is_not(None))
    ).scalar_one()
    return {"stories": stories, "events": events, "commentary": commentary,
            "reports": reports, "runs": runs, "errors": errors}  # fmt: skip


def _first_difference(found: dict[str, Any], expected: dict[str, Any]) -> str:
    for k in sorted(set(found) | set(expected)):
        if found.get(k) != expected.get(k):
            return f"{k[:200]}:\n  after kills: {found.get(k)!r:.600}\n  uninterrupted: " \
                   f"{expected.get(k)!r:.600}"  # fmt: skip
    return ""
