"""The numbers behind the desk's pictures, and the words that say them.

Each picture is a small frozen value (hashable, so a rendered copy can be kept by it) that
carries its own accessible name: the figures a screen reader hears are the figures drawn, and
a test reads them back from the SVG. The drawing itself is `web/templates/_pictures.html`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

SPARK_HOURS = 6  # one bar: independent sources in six hours
SPARK_BARS = 56  # fourteen days of six-hour bars; a longer life gets wider bars
DEVELOPMENT = "same_story"  # grouping's relation for a development of the story


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _floor(when: datetime, hours: int) -> datetime:
    when = when.astimezone(UTC)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(hours=(when.hour // hours) * hours) if hours < 24 else day


SPARK_HEIGHT = 22  # px: 16 for the tallest bar, a development's mark above it


class Drawing(NamedTuple):
    """A picture's geometry as SVG path data, one path per style: the template writes three
    elements instead of looping over bars (a loop in Jinja cost 0.3 ms for 56 bars)."""

    width: int
    height: int
    bars: str
    nils: str
    marks: str


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True, slots=True)
class Spark:
    """An event's coverage over its life: independent sources per `hours`, from `start`."""

    start: datetime
    hours: int
    counts: tuple[int, ...]
    developments: tuple[int, ...]  # indexes of the bars where a development joined

    @property
    def peak(self) -> int:
        return max(self.counts, default=0)

    def draw(self) -> Drawing:
        n = len(self.counts)
        w = max(4, min(12, 48 // max(n, 1)))  # a short life still draws a visible bar
        peak, h = self.peak or 1, SPARK_HEIGHT
        bars, nils = [], []
        for i, c in enumerate(self.counts):
            if c:
                bh = c * 16 / peak
                bars.append(f"M{i * w} {_num(h - bh)}h{w - 1}V{h}h-{w - 1}z")
            else:
                nils.append(f"M{i * w} {h - 1}h{w - 1}v1h-{w - 1}z")
        half = _num((w - 1) / 2)
        marks = "".join(f"M{i * w} 0h{w - 1}l-{half} 4z" for i in self.developments)
        return Drawing(n * w, h, "".join(bars), "".join(nils), marks)

    @property
    def label(self) -> str:
        figures = ", ".join(str(n) for n in self.counts)
        text = (
            f"Coverage: independent sources per {self.hours} hours from {_stamp(self.start)}: "
            f"{figures}."
        )
        if self.developments:
            at = ", ".join(
                _stamp(self.start + timedelta(hours=self.hours * i)) for i in self.developments
            )
            text += f" A development joined in the {self.hours} hours from {at}."
        return text


def coverage_spark(
    reports: Iterable[tuple[str, datetime, str | None]], now: datetime
) -> Spark | None:
    """The sparkline of one event from its reports (source, time, relation): members and the
    discoveries of them through other sources. Reports after `now` (the desk's clock: a demo
    snapshot's discoveries are seen today) are not drawn. None for an event with no report."""
    seen = [(s, at, rel) for s, at, rel in reports if at <= now]
    if not seen:
        return None
    first = min(at for _, at, _ in seen)
    last = max(at for _, at, _ in seen)
    hours = SPARK_HOURS
    while (last - _floor(first, hours)) >= timedelta(hours=hours * SPARK_BARS):
        hours *= 2  # a long life: wider bars, never more than SPARK_BARS of them
    start = _floor(first, hours)
    bars = int((last - start) / timedelta(hours=hours)) + 1
    sources: list[set[str]] = [set() for _ in range(bars)]
    developments: set[int] = set()
    for source_id, at, relation in seen:
        index = int((at - start) / timedelta(hours=hours))
        sources[index].add(source_id)
        if relation == DEVELOPMENT:
            developments.add(index)
    return Spark(start, hours, tuple(len(s) for s in sources), tuple(sorted(developments)))
