"""What a picture costs: our Jinja SVG macros (web/templates/_pictures.html over the numbers of
publish/pictures.py) against pygal 3, the well-kept Python SVG chart library, drawing the same
figures: CPU per rendering and bytes on the page.

Two pictures: an event's coverage sparkline at its longest (56 six-hour bars, a development
marked) and at a typical length (12 bars), and a source's 30-day stories-per-day chart. pygal
draws each as `render_sparkline` (its smallest chart: no axes, no legend) with its script off
(`js=[]`, else every chart links a script from pygal's site, which the desk's CSP refuses).
Ours is measured without its cache: every rendering is drawn afresh.

Prints one table: ours, the baseline, their ratio (ours / pygal).

Run: .venv/bin/python bench/pictures.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newsdesk.publish.pictures import PerDay, coverage_spark  # noqa: E402
from newsdesk.web.pictures import PictureCache  # noqa: E402

T0 = datetime(2025, 8, 5, 17, 0, tzinfo=UTC)


def cpu_ms(fn: Callable[[], object], rounds: int) -> float:
    fn()  # templates compiled, imports done
    start = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - start) / rounds * 1000


def spark_of(bars: int):  # type: ignore[no-untyped-def]
    reports = [(f"s{k % 4}", T0 + timedelta(hours=6 * (k // 2)), None) for k in range(2 * bars)]
    reports.append(("podcast", T0 + timedelta(hours=6 * (bars - 1)), "same_story"))
    spark = coverage_spark(reports, T0 + timedelta(days=60))
    assert spark is not None and len(spark.counts) == bars
    return spark


def pygal_render(values: tuple[float, ...], width: int, height: int) -> Callable[[], bytes]:
    import pygal

    def draw() -> bytes:
        chart = pygal.Bar(js=[], width=width, height=height, show_legend=False)
        chart.add("", list(values))
        return chart.render_sparkline(width=width, height=height)  # type: ignore[no-any-return]

    return draw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    env = Environment(loader=FileSystemLoader(ROOT / "src/newsdesk/web/templates"), autoescape=True)
    pictures = PictureCache(env)
    cases = []
    for bars in (56, 12):
        spark = spark_of(bars)
        d = spark.draw()
        baseline = pygal_render(tuple(map(float, spark.counts)), d.width, d.height)
        cases.append(
            (f"sparkline, {bars} bars", lambda s=spark: pictures.render("spark", s), baseline)
        )
    days = PerDay(date(2025, 11, 24), tuple(float(k % 5 == 0) * (k % 3 + 1) for k in range(30)))
    cases.append(("stories per day, 30 days", lambda: pictures.render("chart", days),
                  pygal_render(days.values, days.draw().width, days.draw().height)))  # fmt: skip
    print("| picture | measure | ours | pygal | ratio (ours / pygal) |")
    print("|---|---|---:|---:|---:|")
    for name, ours, theirs in cases:
        ours_ms, their_ms = cpu_ms(ours, args.rounds), cpu_ms(theirs, max(1, args.rounds // 20))
        ours_b, their_b = len(str(ours()).encode()), len(theirs())
        print(f"| {name} | CPU ms per rendering | {ours_ms:.3f} | {their_ms:.3f} | "
              f"{ours_ms / their_ms:.3f} |")  # fmt: skip
        print(f"| {name} | bytes on the page | {ours_b} | {their_b} | {ours_b / their_b:.3f} |")
    per_page = 50 * len(str(cases[1][1]()).encode())
    print(f"\n/events shows 50 events: {per_page / 1024:.1f} KB of sparklines at 12 bars")


if __name__ == "__main__":
    main()
