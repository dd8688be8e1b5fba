"""Prometheus metrics of this process (task durations and failures, step counts).

With several web or worker processes, set PROMETHEUS_MULTIPROC_DIR to one directory they
share (on one machine): each process writes its figures there and `/metrics` adds them up
(prometheus-client's multiprocess mode). Figures that live in the database (queue states,
fetches by error code, model usage, the pause reason) are read at scrape time instead, so they
cover the whole fleet wherever its processes run (`publish/metrics.py`).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

TASK_SECONDS = Histogram(
    "newsdesk_task_seconds", "Duration of worker tasks by queue and step", ["queue", "step"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)  # fmt: skip
TASK_FAILURES = Counter(
    "newsdesk_task_failures", "Worker tasks that raised (each is retried)", ["queue", "step"]
)
STEP_COUNTS = Counter("newsdesk_step_counts", "What the steps counted", ["step", "count"])


def task_finished(queue: str, step: str, seconds: float, failed: bool) -> None:
    TASK_SECONDS.labels(queue, step).observe(seconds)
    if failed:
        TASK_FAILURES.labels(queue, step).inc()


def step_counts(result: Any) -> None:
    for name, n in result.counts.items():
        if n:
            STEP_COUNTS.labels(result.step, name).inc(n)


def process_registry() -> CollectorRegistry | None:
    """The registry to expose: every process's figures in multiprocess mode, else None (the
    default registry of this process)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
