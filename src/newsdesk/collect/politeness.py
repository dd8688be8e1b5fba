"""What a server says about when to come back: Retry-After, Cache-Control, Expires, RSS <ttl>.

All of them are read as a lower bound on the next poll, never as a reason to poll sooner.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# A server cannot park a source for longer than this; past it the cadence decides again.
MAX_FLOOR = timedelta(days=2)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    return _http_date(value)


def poll_floor(
    headers: dict[str, str] | None, now: datetime, ttl_minutes: int | None = None
) -> datetime | None:
    """The earliest moment the server asked us to come back, capped at MAX_FLOOR."""
    headers = headers or {}
    candidates: list[datetime] = []
    if when := retry_after(headers.get("retry-after"), now):
        candidates.append(when)
    cache_control = headers.get("cache-control", "")
    if "no-store" not in cache_control.lower() and (match := _MAX_AGE.search(cache_control)):
        candidates.append(now + timedelta(seconds=int(match.group(1))))
    elif (expires := headers.get("expires")) and (when := _http_date(expires)):
        # Expires counts only without max-age (RFC 9111 §5.3)
        candidates.append(when)
    if ttl_minutes and ttl_minutes > 0:
        candidates.append(now + timedelta(minutes=ttl_minutes))
    if not candidates:
        return None
    return min(max(candidates), now + MAX_FLOOR)
