"""The fleet's figures that live in the database, as Prometheus metric families read at scrape
time: jobs by queue and state, stalled jobs, the oldest waiting job, fetches by error code,
model calls, tokens and cost, and whether model steps are paused by a budget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from newsdesk.store import queue
from newsdesk.store.db import Database


class DeskCollector(Collector):
    def __init__(self, db: Database, stalled_after: float = queue.STALLED_AFTER) -> None:
        self.db, self.stalled_after = db, stalled_after

    def collect(self) -> Iterator[Any]:
        with self.db.read() as conn:
            status = queue.status(conn, self.stalled_after)
            fetches = queue.fetches_by_code(conn)
            usage = queue.model_usage(conn)
        jobs = GaugeMetricFamily(
            "newsdesk_jobs", "Jobs by queue and state", labels=["queue", "state"]
        )
        for name, states in status["queues"].items():
            for job_state, n in states.items():
                jobs.add_metric([name, job_state], n)
        yield jobs
        yield GaugeMetricFamily("newsdesk_jobs_stalled", "Jobs left doing by a silent worker",
                                value=status["stalled"])  # fmt: skip
        yield GaugeMetricFamily("newsdesk_oldest_todo_seconds", "Age of the oldest waiting job",
                                value=status["oldest_todo_seconds"])  # fmt: skip
        yield GaugeMetricFamily("newsdesk_model_paused", "1 when a spent budget pauses model steps",
                                value=1 if status["paused"] else 0)  # fmt: skip
        fetched = CounterMetricFamily("newsdesk_fetches", "Source fetches by error code ('ok')",
                                      labels=["code"])  # fmt: skip
        for code, n in sorted(fetches.items()):
            fetched.add_metric([code], n)
        yield fetched
        calls = CounterMetricFamily("newsdesk_model_calls", "Paid model calls",
                                    labels=["service", "purpose"])  # fmt: skip
        tokens = CounterMetricFamily("newsdesk_model_tokens", "Model tokens, in and out",
                                     labels=["service", "purpose"])  # fmt: skip
        cost = CounterMetricFamily("newsdesk_model_cost_dollars", "Model cost",
                                   labels=["service", "purpose"])  # fmt: skip
        for row in usage:
            calls.add_metric([row.service, row.purpose], row.calls)
            tokens.add_metric([row.service, row.purpose], row.tokens or 0)
            cost.add_metric([row.service, row.purpose], float(row.cost or 0))
        yield from (calls, tokens, cost)
