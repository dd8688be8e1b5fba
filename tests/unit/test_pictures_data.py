"""The numbers behind the pictures (publish/pictures.py), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsdesk.publish.pictures import SPARK_BARS, coverage_spark

T0 = datetime(2025, 8, 5, 17, 0, tzinfo=UTC)


def test_spark_counts_independent_sources_per_six_hours_and_marks_developments() -> None:
    reports = [
        ("openai", T0, "lead"),
        ("openai", T0 + timedelta(minutes=30), "same_occurrence"),  # one source counts once
        ("jiqi", T0 + timedelta(hours=7, minutes=30), "same_occurrence"),
        ("weekly", T0 + timedelta(hours=21), None),  # a discovery
        ("podcast", T0 + timedelta(days=6, hours=17), "same_story"),
    ]
    s = coverage_spark(reports, T0 + timedelta(days=30))
    assert s is not None and s.hours == 6
    assert s.start == datetime(2025, 8, 5, 12, 0, tzinfo=UTC)  # the six hours it fell in
    assert s.counts[:5] == (1, 0, 1, 0, 1) and s.counts[-1] == 1 and sum(s.counts) == 4
    assert s.developments == (len(s.counts) - 1,)
    assert s.label.startswith(
        "Coverage: independent sources per 6 hours from 2025-08-05 12:00 UTC: 1, 0, 1, 0, 1,"
    )
    assert s.label.endswith("A development joined in the 6 hours from 2025-08-12 06:00 UTC.")
    d = dict(s.draw().paths)
    assert d["bar"].count("M") == 4 and d["nil"].count("M") == len(s.counts) - 4
    assert d["dev"].count("M") == 1


def test_spark_leaves_out_reports_after_the_clock_and_widens_a_long_life() -> None:
    reports = [("a", T0, "lead"), ("b", T0 + timedelta(days=400), None)]
    only_first = coverage_spark(reports, T0 + timedelta(days=1))
    assert only_first is not None and only_first.counts == (1,)
    assert coverage_spark(reports, T0 - timedelta(hours=1)) is None
    long = coverage_spark(reports, T0 + timedelta(days=500))
    assert long is not None and len(long.counts) <= SPARK_BARS and long.hours > 6
    assert f"per {long.hours} hours" in long.label and sum(long.counts) == 2
