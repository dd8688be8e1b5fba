"""The numbers behind the desk's pictures, and the words that say them.

Each picture is a small frozen value (hashable, so a rendered copy can be kept by it) that
carries its own accessible name: the figures a screen reader hears are the figures drawn, and
a test reads them back from the SVG. The drawing itself is `web/templates/_pictures.html`;
the reads here are one statement per picture kind for a whole page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from newsdesk.publish.memo import until_desk
from newsdesk.store import schema as t

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
    """A picture's geometry as SVG path data, one path per style (class): the template writes
    a few elements instead of looping over bars (a loop in Jinja cost 0.3 ms for 56 bars)."""

    width: int
    height: int
    paths: tuple[tuple[str, str], ...]  # (class, path data), empty ones left out
    note: str = ""  # words drawn inside, for an empty picture


def _drawing(width: int, height: int, note: str = "", **paths: list[str]) -> Drawing:
    return Drawing(width, height, tuple((k, "".join(v)) for k, v in paths.items() if v), note)


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
        marks = [f"M{i * w} 0h{w - 1}l-{half} 4z" for i in self.developments]
        return _drawing(n * w, h, bar=bars, nil=nils, dev=marks)

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
    reports = list(reports)
    for _, at, _ in reports:
        if at > now:  # drawn once the clock reaches it: a kept read ends then
            until_desk(at, now)
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


# ---- per day: stories of a source, cost of the model -----------------------------------------

DAYS = 30
DAY_BAR = 4  # px per day (3 bar + 1 gap): 30 days in 120 px, readable at 375 px


def day_range(now: datetime, tz: str, days: int = DAYS) -> tuple[date, datetime]:
    """The last day (the clock's, in the desk's time zone) and the UTC start of the first."""
    zone = ZoneInfo(tz)
    last = now.astimezone(zone).date()
    first = last - timedelta(days=days - 1)
    return last, datetime.combine(first, time(0), zone).astimezone(UTC)


def day_index(when: datetime, last: date, tz: str, days: int = DAYS) -> int | None:
    """Which of the `days` bars ending on `last` a moment falls on, or None outside them."""
    index = days - 1 - (last - when.astimezone(ZoneInfo(tz)).date()).days
    return index if 0 <= index < days else None


@dataclass(frozen=True, slots=True)
class PerDay:
    """One figure per day for the days ending on `last`: `what` names the figure for the
    label ("stories", "USD"), `limit` draws a line (a daily budget) when set."""

    last: date
    values: tuple[float, ...]
    what: str = "stories"
    limit: float | None = None
    kind: str = "days"
    bar: int = DAY_BAR  # px per day
    height: int = 24

    def large(self) -> PerDay:
        """The same figures drawn bigger (a page's main chart: 300 × 64 px)."""
        return PerDay(self.last, self.values, self.what, self.limit, self.kind, 10, 64)

    @property
    def total(self) -> float:
        return sum(self.values)

    def _fmt(self, v: float) -> str:
        return f"{v:.6f}".rstrip("0").rstrip(".") or "0" if self.what == "USD" else str(int(v))

    @property
    def noun(self) -> str:
        return {"USD": "cost (USD)", "tokens": "tokens"}.get(self.what, self.what)

    @property
    def label(self) -> str:
        n, last = len(self.values), self.last.isoformat()
        if not self.total:
            return f"No {self.noun.split(' ')[0]} in the {n} days to {last}."
        figures = ", ".join(self._fmt(v) for v in self.values)
        text = f"{self.noun[0].upper()}{self.noun[1:]} per day, the {n} days to {last}: {figures}."
        if self.limit:
            text += f" Daily budget: {self._fmt(self.limit)}."
        return text

    def draw(self) -> Drawing:
        n, h, w = len(self.values), self.height, self.bar
        width, room = n * w, h - 4
        base = [f"M0 {h - 1}h{width}v1h-{width}z"]
        if not self.total:
            return _drawing(width, h, f"no {self.noun.split(' ')[0]} in {n} days", nil=base)
        top = max(max(self.values), self.limit or 0.0)
        bars = []
        for i, v in enumerate(self.values):
            if v:
                bh = max(1.0, v * room / top)
                bars.append(f"M{i * w} {_num(h - bh)}h{w - 1}V{h}h-{w - 1}z")
        line = []
        if self.limit:
            y = _num(h - self.limit * room / top)
            line = [f"M0 {y}h{width}v1h-{width}z"]
        return _drawing(width, h, nil=base, bar=bars, limit=line)


def stories_per_day(
    conn: Connection, now: datetime, tz: str, days: int = DAYS
) -> dict[str, PerDay]:
    """Each source's stories per day (filed in the desk's time zone) for the `days` to `now`'s
    day: every source has one, an empty one for a quiet source."""
    last, since = day_range(now, tz, days)
    i = t.items.c
    counts: dict[str, list[float]] = {}
    for source_id, filed_at in conn.execute(
        select(i.source_id, i.filed_at).where(i.filed_at >= since, i.filed_at <= now)
    ):
        index = day_index(aware(filed_at), last, tz, days)
        if index is not None:
            counts.setdefault(source_id, [0.0] * days)[index] += 1
    ids = conn.execute(select(t.sources.c.id)).scalars()
    return {s: PerDay(last, tuple(counts.get(s, [0.0] * days))) for s in ids}


# ---- fetch outcomes -----------------------------------------------------------------------

FETCHES = 30  # the newest fetches of a source in its strip
CELL = 4


def outcome_of(http_status: int | None, error_code: str | None) -> str:
    """ok, 304 (not modified) or the error's stable code (collect/http.py)."""
    if error_code:
        return error_code
    return "304" if http_status == 304 else "ok"


@dataclass(frozen=True, slots=True)
class Outcomes:
    """A source's newest fetches, oldest first: ok, 304 or an error code each."""

    outcomes: tuple[str, ...]
    first: datetime | None = None
    last: datetime | None = None
    kind: str = "fetches"

    @property
    def label(self) -> str:
        if not self.outcomes or self.first is None or self.last is None:
            return "No fetch yet."
        n = len(self.outcomes)
        return (
            f"{'The last ' if n == FETCHES else ''}{n} fetch{'es' if n != 1 else ''}, oldest "
            f"first, {_stamp(self.first)} to {_stamp(self.last)}: {', '.join(self.outcomes)}."
        )

    def draw(self) -> Drawing:
        h = 14
        if not self.outcomes:
            return _drawing(
                FETCHES * CELL, h, "no fetch yet", nil=[f"M0 {h - 1}h{FETCHES * CELL}v1H0z"]
            )
        cells: dict[str, list[str]] = {"ok": [], "nm": [], "err": []}
        for i, outcome in enumerate(self.outcomes):
            style = "ok" if outcome == "ok" else "nm" if outcome == "304" else "err"
            cells[style].append(f"M{i * CELL} 0h{CELL - 1}v{h}h-{CELL - 1}z")
        return _drawing(len(self.outcomes) * CELL, h, **cells)


def source_pictures(conn: Connection, now: datetime, tz: str) -> dict[str, tuple[PerDay, Outcomes]]:
    """Per source: stories per day for 30 days (the desk's clock) and its fetch strip."""
    days, fetches = stories_per_day(conn, now, tz), fetch_outcomes(conn)
    return {s: (per_day, fetches.get(s, Outcomes(()))) for s, per_day in days.items()}


def fetch_outcomes(conn: Connection, limit: int = FETCHES) -> dict[str, Outcomes]:
    """Each source's newest `limit` fetches (the real clock's: fetches are the operator's)."""
    f = t.fetch_runs.c
    newest = (
        select(f.source_id, f.started_at, f.http_status, f.error_code,
               func.row_number().over(partition_by=f.source_id,
                                      order_by=(f.started_at.desc(), f.id.desc())).label("n"))
        .subquery()
    )  # fmt: skip
    rows = conn.execute(
        select(newest).where(newest.c.n <= limit).order_by(newest.c.source_id, newest.c.n.desc())
    )
    seen: dict[str, list[tuple[datetime, str]]] = {}
    for r in rows:
        seen.setdefault(r.source_id, []).append(
            (aware(r.started_at), outcome_of(r.http_status, r.error_code))
        )
    return {
        source_id: Outcomes(tuple(o for _, o in runs), runs[0][0], runs[-1][0])
        for source_id, runs in seen.items()
    }


def aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# ---- money and tokens ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    """Cost and tokens per day for 30 days: in all, and per step (purpose) and model."""

    cost: PerDay
    tokens: PerDay
    rows: tuple[tuple[str, str, PerDay, PerDay], ...]  # (step, model, cost, tokens)


def usage_per_day(conn: Connection, now: datetime, tz: str, days: int = DAYS) -> Usage:
    """Paid calls per day (the real clock: money is spent today, also in the demo), with the
    daily budgets editors set (`budgets`, window "day", summed over services) as lines."""
    last, since = day_range(now, tz, days)
    u, b = t.usage.c, t.budgets.c
    cost: dict[tuple[str, str], list[float]] = {}
    tokens: dict[tuple[str, str], list[float]] = {}
    for purpose, model, tokens_in, tokens_out, spent, at in conn.execute(
        select(u.purpose, u.model, u.tokens_in, u.tokens_out, u.cost, u.created_at).where(
            u.created_at >= since, u.created_at <= now
        )
    ):
        index = day_index(aware(at), last, tz, days)
        if index is None:
            continue
        key = (purpose, model)
        cost.setdefault(key, [0.0] * days)[index] += spent or 0.0
        tokens.setdefault(key, [0.0] * days)[index] += (tokens_in or 0) + (tokens_out or 0)
    budget = conn.execute(
        select(func.sum(b.max_cost), func.sum(b.max_tokens)).where(b.window == "day")
    ).one()

    def total(by: dict[tuple[str, str], list[float]]) -> tuple[float, ...]:
        return tuple(round(sum(v[i] for v in by.values()), 6) for i in range(days))

    rows = tuple(
        (purpose, model, PerDay(last, tuple(round(v, 6) for v in cost[purpose, model]), "USD"),
         PerDay(last, tuple(tokens[purpose, model]), "tokens"))
        for purpose, model in sorted(cost)
    )  # fmt: skip
    return Usage(
        PerDay(last, total(cost), "USD", float(budget[0]) if budget[0] else None),
        PerDay(last, total(tokens), "tokens", float(budget[1]) if budget[1] else None),
        rows,
    )


# ---- tiers --------------------------------------------------------------------------------

TIERS = ("p1", "featured", "all", "excluded")


@dataclass(frozen=True, slots=True)
class TierShares:
    """Judged stories per day by tier (p1, featured, all, excluded), drawn as shares: each day
    a bar of full height split by tier, oldest day first."""

    last: date
    counts: tuple[tuple[int, int, int, int], ...]
    title: str = "Tier shares"
    kind: str = "tiers"

    @property
    def label(self) -> str:
        n, last = len(self.counts), self.last.isoformat()
        days = []
        for i, row in enumerate(self.counts):
            if sum(row):
                day = self.last - timedelta(days=n - 1 - i)
                parts = ", ".join(f"{tier} {k}" for tier, k in zip(TIERS, row, strict=True))
                days.append(f"{day.isoformat()}: {parts}")
        if not days:
            return f"{self.title}: no judged stories in the {n} days to {last}."
        return f"{self.title} per day, the {n} days to {last}, stories by tier: {'; '.join(days)}."

    def draw(self) -> Drawing:
        n, h, w = len(self.counts), 40, 8
        width = n * w
        base = [f"M0 {h - 1}h{width}v1h-{width}z"]
        if not any(sum(row) for row in self.counts):
            return _drawing(width, h, "no judged stories", nil=base)
        parts: dict[str, list[str]] = {f"t-{tier}": [] for tier in TIERS}
        for i, row in enumerate(self.counts):
            total, y = sum(row), float(h)
            for tier, k in zip(TIERS, row, strict=True):
                if k:
                    bh = k * h / total
                    parts[f"t-{tier}"].append(
                        f"M{i * w} {_num(y - bh)}h{w - 1}V{_num(y)}h-{w - 1}z"
                    )
                    y -= bh
        return _drawing(width, h, **parts)  # type: ignore[arg-type]


def shares_by_day(
    by_day: dict[str, dict[str, int]], last: date, days: int, title: str
) -> TierShares:
    """TierShares of {day: {tier: n}} for the `days` to `last`."""
    rows = []
    for back in range(days - 1, -1, -1):
        tiers = by_day.get((last - timedelta(days=back)).isoformat(), {})
        rows.append(tuple(int(tiers.get(tier, 0)) for tier in TIERS))
    return TierShares(last, tuple(rows), title)  # type: ignore[arg-type]


def tier_shares(conn: Connection, now: datetime, tz: str, days: int = DAYS) -> TierShares:
    """The desk's judged stories per filed day (the desk's clock and time zone) by tier."""
    last, since = day_range(now, tz, days)
    i = t.items.c
    by_day: dict[str, dict[str, int]] = {}
    for tier, filed_at in conn.execute(
        select(i.tier, i.filed_at).where(
            i.filed_at >= since, i.filed_at <= now, i.tier.is_not(None)
        )
    ):
        day = aware(filed_at).astimezone(ZoneInfo(tz)).date().isoformat()
        counts = by_day.setdefault(day, {})
        counts[tier] = counts.get(tier, 0) + 1
    return shares_by_day(by_day, last, days, "Tier shares")


def preview_shares(preview: dict | None) -> tuple[TierShares, TierShares] | None:
    """Current and draft tier shares per day of a stored policy preview, over its newest
    30 days (ending on its newest story's day), or None for a preview measured before."""
    found = (preview or {}).get("tiers_by_day")
    if not found:
        return None
    seen = sorted({*found["current"], *found["draft"]})
    if not seen:
        return None
    last = date.fromisoformat(seen[-1])
    days = min(DAYS, int((preview or {}).get("days") or DAYS))
    return (shares_by_day(found["current"], last, days, "Current policy, tier shares"),
            shares_by_day(found["draft"], last, days, "This version, tier shares"))  # fmt: skip
