"""What the job queue holds (Procrastinate's tables on PostgreSQL), read with plain SQL so the
web server and the CLI need no worker code. On SQLite there is no queue: every figure is 0."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from newsdesk.store import schema as t
from newsdesk.store import state

QUEUES = ("collect", "editor", "events", "outputs")
STATES = ("todo", "doing", "failed", "succeeded")
STALLED_AFTER = 15.0  # seconds without a heartbeat: NEWSDESK_WORKER_STALLED_SECONDS' default


def status(conn: Connection, stalled_after: float = STALLED_AFTER) -> dict[str, Any]:
    """{"queues": {queue: {state: n}}, "stalled": n, "oldest_todo_seconds": s, "paused": …}
    A job is stalled when its worker has been silent for `stalled_after` seconds."""
    queues: dict[str, dict[str, int]] = {q: dict.fromkeys(STATES, 0) for q in QUEUES}
    stalled, oldest = 0, 0.0
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(
            "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
            "GROUP BY queue_name, status"))  # fmt: skip
        for queue, job_state, n in rows:
            queues.setdefault(queue, dict.fromkeys(STATES, 0))[job_state] = int(n)
        stalled = conn.execute(text(
            "SELECT count(*) FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w "
            "ON w.id = j.worker_id WHERE j.status = 'doing' AND (j.worker_id IS NULL OR "
            "w.last_heartbeat < now() - make_interval(secs => :s))"), {"s": stalled_after}
        ).scalar_one()  # fmt: skip
        first = conn.execute(text(
            "SELECT min(coalesce(scheduled_at, e.at)) FROM procrastinate_jobs j "
            "JOIN LATERAL (SELECT min(at) AS at FROM procrastinate_events "
            "WHERE job_id = j.id AND type = 'deferred') e ON true "
            "WHERE j.status = 'todo' AND coalesce(scheduled_at, e.at) <= now()")
        ).scalar()  # fmt: skip
        if first is not None:
            oldest = max(0.0, (datetime.now(UTC) - first).total_seconds())
    paused = state.get(conn, state.PAUSED)
    return {
        "queues": queues,
        "stalled": int(stalled),
        "oldest_todo_seconds": round(oldest, 1),
        "paused": paused.value if paused is not None else "",
    }


def failed_jobs(conn: Connection, queue: str | None = None) -> list[Any]:
    if conn.dialect.name != "postgresql":
        return []
    query = "SELECT id, queue_name, task_name, args FROM procrastinate_jobs WHERE status = 'failed'"
    if queue:
        return list(conn.execute(text(query + " AND queue_name = :q ORDER BY id"), {"q": queue}))
    return list(conn.execute(text(query + " ORDER BY id")))


def fetches_by_code(conn: Connection) -> dict[str, int]:
    """Fetches by error code; a fetch without one is "ok"."""
    c = t.fetch_runs.c
    rows = conn.execute(select(c.error_code, func.count()).group_by(c.error_code))
    return {code or "ok": int(n) for code, n in rows}


def model_usage(conn: Connection) -> list[Any]:
    u = t.usage.c
    return list(conn.execute(
        select(u.service, u.purpose, func.count().label("calls"),
               func.sum(u.tokens_in + u.tokens_out).label("tokens"),
               func.sum(func.coalesce(u.cost, 0.0)).label("cost"))
        .group_by(u.service, u.purpose)))  # fmt: skip


def drop_jobs(conn: Connection, ids: list[int]) -> None:
    """Delete failed jobs (their events go with them)."""
    for job_id in ids:
        conn.execute(text("DELETE FROM procrastinate_events WHERE job_id = :i"), {"i": job_id})
        conn.execute(
            text("DELETE FROM procrastinate_jobs WHERE id = :i AND status = 'failed'"),
            {"i": job_id},
        )
