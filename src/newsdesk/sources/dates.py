"""Dates as web pages and JSON APIs write them: ISO 8601, RFC 2822, epoch seconds, a few
human formats. Anything else is None, and normalize treats the entry as undated."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_HUMAN = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d", "%Y/%m/%d", "%b %d %Y")


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_date(value: object) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds from JS APIs
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 20:  # "²" is a digit to isdigit()
        return parse_date(int(text))
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        return _aware(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _HUMAN:
        try:
            return _aware(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None
