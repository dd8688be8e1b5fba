"""The worker's waits come from the settings (NEWSDESK_WORKER_*) and default to what
docs/operations.md says: retries after 2, 4, 8, 16, 32 and 64 s, a silent worker's jobs run
again within 25 s."""

from __future__ import annotations

from newsdesk.config import load_settings
from newsdesk.runner.worker import RETRIES, Timing


def test_the_default_waits_are_the_documented_ones() -> None:
    timing = Timing(load_settings())
    assert [timing.retry.wait(n) for n in range(RETRIES)] == [2, 4, 8, 16, 32, 64]
    # 15 s of silence, then a check that runs every 10 s; the heartbeat beats every 5 s
    assert (timing.stalled_after, timing.heartbeat, timing.stalled_check) == (15, 5, 10)
    assert timing.poll == 2


def test_the_waits_follow_the_settings() -> None:
    settings = load_settings(worker_retry_seconds=0.5, worker_stalled_seconds=6,
                             worker_poll_seconds=0.25)  # fmt: skip
    timing = Timing(settings)
    assert [timing.retry.wait(n) for n in range(3)] == [0.5, 1.0, 2.0]
    assert (timing.stalled_after, timing.heartbeat, timing.stalled_check) == (6, 2, 4)
    assert timing.poll == 0.25
