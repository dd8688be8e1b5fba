"""When to poll a source next: adapt to its output, back off on failure, honour the server."""

from __future__ import annotations

from datetime import datetime, timedelta

FAILING_AFTER = 5  # consecutive failures before a source is marked failing
BACKOFF_CAP_MINUTES = 6 * 60  # an erroring source is retried at least this often…
FAILING_RETRY_MINUTES = 24 * 60  # …and a failing one still daily


def adaptive_minutes(items_7d: int, cadence_min: int, cadence_max: int) -> int:
    """About three polls per new item: 1440 / (items per day × 3), within the source's bounds.

    A busy feed (dozens a day) lands on its lower bound, a quiet one on its upper bound."""
    low, high = max(1, cadence_min), max(cadence_min, cadence_max)
    if items_7d <= 0:
        return high
    per_day = items_7d / 7
    return int(min(high, max(low, 1440 / (per_day * 3))))


def backoff_minutes(failures: int, cadence_min: int) -> int:
    """Exponential from the source's lower bound, capped; daily once failing."""
    if failures >= FAILING_AFTER:
        return FAILING_RETRY_MINUTES
    return int(min(BACKOFF_CAP_MINUTES, max(15, cadence_min) * 2 ** (failures - 1)))


def next_poll_at(
    now: datetime,
    *,
    cadence_min: int,
    cadence_max: int,
    items_7d: int,
    failures: int,
    floor: datetime | None = None,
) -> datetime:
    if failures > 0:
        minutes = backoff_minutes(failures, cadence_min)
    else:
        minutes = adaptive_minutes(items_7d, cadence_min, cadence_max)
    when = now + timedelta(minutes=minutes)
    # Retry-After, max-age, Expires and <ttl> only ever push the next poll later
    return max(when, floor) if floor else when
