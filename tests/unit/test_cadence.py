"""Politeness headers and the adaptive cadence, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsdesk.collect.cadence import adaptive_minutes, backoff_minutes, next_poll_at
from newsdesk.collect.politeness import MAX_FLOOR, poll_floor

NOW = datetime(2025, 2, 1, 12, tzinfo=UTC)


def test_busy_feeds_poll_at_their_lower_bound_quiet_ones_at_the_upper() -> None:
    assert adaptive_minutes(items_7d=500, cadence_min=15, cadence_max=1440) == 15
    assert adaptive_minutes(items_7d=0, cadence_min=15, cadence_max=1440) == 1440
    assert adaptive_minutes(items_7d=1, cadence_min=15, cadence_max=1440) == 1440
    # 7 a week = 1 a day: three polls a day
    assert adaptive_minutes(items_7d=7, cadence_min=15, cadence_max=1440) == 480


def test_failures_back_off_exponentially_with_a_cap_then_daily() -> None:
    steps = [backoff_minutes(n, 30) for n in range(1, 7)]
    assert steps[:4] == [30, 60, 120, 240]
    assert steps[4] == steps[5] == 24 * 60  # failing (5+): still retried daily
    assert backoff_minutes(4, 200) == 360  # capped below failing


def test_server_floor_only_delays() -> None:
    later = NOW + timedelta(hours=5)
    soon = NOW + timedelta(minutes=1)
    kw = {"cadence_min": 15, "cadence_max": 60, "items_7d": 1000, "failures": 0}
    assert next_poll_at(NOW, floor=later, **kw) == later
    assert next_poll_at(NOW, floor=soon, **kw) == NOW + timedelta(minutes=15)


def test_retry_after_seconds_and_date() -> None:
    assert poll_floor({"retry-after": "120"}, NOW) == NOW + timedelta(seconds=120)
    date = "Sat, 01 Feb 2025 15:00:00 GMT"
    assert poll_floor({"retry-after": date}, NOW) == datetime(2025, 2, 1, 15, tzinfo=UTC)


def test_cache_control_beats_expires_and_ttl_counts() -> None:
    headers = {"cache-control": "public, max-age=1800", "expires": "Sun, 02 Feb 2025 00:00:00 GMT"}
    assert poll_floor(headers, NOW) == NOW + timedelta(minutes=30)
    assert poll_floor({"expires": "Sat, 01 Feb 2025 13:00:00 GMT"}, NOW) == NOW + timedelta(hours=1)
    assert poll_floor({}, NOW, ttl_minutes=90) == NOW + timedelta(minutes=90)
    assert poll_floor({"cache-control": "no-store, max-age=999"}, NOW) is None
    assert poll_floor({"expires": "0"}, NOW) is None
    assert poll_floor({}, NOW) is None


def test_a_server_cannot_park_a_source_forever() -> None:
    assert poll_floor({"retry-after": "99999999"}, NOW) == NOW + MAX_FLOOR
