"""Every benchmark in bench/ runs at a tiny size and prints its table: our figure, the
baseline measured in the same run, and their ratio (which must be the one of the two).

A benchmark is a script nobody runs every day, so it breaks silently when the code under it
changes; these smoke tests run each one the way a person would, on the demo feeds instead of
../shared/corpus, so they run anywhere. A new script in bench/ needs an entry in SMOKE.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import PG_URL
from newsdesk.sources.catalog import DEMO_FEEDS

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def run_bench(name: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env |= {"COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"bench/{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def number(text: str) -> float:
    return float(text.strip().rstrip("x×").replace(",", ""))


def _half_unit(x: float) -> float:
    """Half a unit of the last digit printed (the figures are parsed from the printed table)."""
    text = repr(x)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return 0.5 * 10.0**-decimals


def assert_ratio(ratio: float, ours: float, baseline: float, rel: float = 0.1) -> None:
    """The printed ratio is ours over the baseline (or its inverse, as the table says), up to
    the rounding of the printed figures: tiny figures such as 0.07 / 0.19 ms carry a rounding
    of several percent, so the check spans what the unrounded figures could have been."""
    assert math.isfinite(ratio) and ratio > 0, ratio
    o, b, r = _half_unit(ours), _half_unit(baseline), _half_unit(ratio)
    low = (ours - o) / (baseline + b) * (1 - rel)
    high = (ours + o) / max(baseline - b, 1e-9) * (1 + rel)
    assert low <= ratio + r and ratio - r <= high, (ratio, ours, baseline)


def row(out: str, label: str) -> list[str]:
    """The cells of the markdown table row that starts with `label`."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{out}")


def check_editor(out: str) -> None:
    assert "editor cost and speed: 12 stories" in out
    cells = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("│") and line.endswith("│"):  # a row of rich's table
            parts = [c.strip() for c in line[1:-1].split("│")]
            cells[parts[0]] = parts[1:]
    for label in ("calls per story", "input tokens per story", "tokens per story (in + out)"):
        ours, naive, ratio = (number(c) for c in cells[label])
        assert ours > 0 and naive > 0
        assert_ratio(ratio, ours, naive)
    # receipts: an identical rerun pays for nothing
    assert cells["(a) calls on an identical rerun"][0] == "0"
    assert "(b) stories failed 0" in out
    # the episode's table: the sample costs what the first characters cost, a fraction of the
    # whole transcript, and holds what the show notes point to
    assert "editor cost per episode (one judge and one comment call): a 62-minute" in out
    for label in (
        "transcript characters to the judge",
        "input tokens, judge call",
        "input tokens, comment call",
        "tokens per episode (in + out)",
    ):
        sample, first, whole, s_f, s_w = (number(c) for c in cells[label])
        assert 0 < sample < whole and first > 0
        assert_ratio(s_f, sample, first)
        assert_ratio(s_w, sample, whole)
        assert s_w < 0.3  # the whole hour costs several times the sample
    assert cells["notes' pointers shown to the judge"][:3] == ["5/5", "0/5", "5/5"]


def check_collect(out: str) -> None:
    assert out.startswith("collect benchmark: 4 feeds")
    first = row(out, "newsdesk")
    assert first[1] == "first" and first[2] == first[3] == "4", first  # every feed answered
    base = row(out, "requests+feedparser, sequential")
    assert base[1] == "first" and base[2] == base[3] == "2", base
    ours_rate = int(first[2]) / number(first[4])
    base_rate = int(base[2]) / number(base[4])
    ratio = number(row(out, "ratio feeds/s, first poll: newsdesk / sequential baseline")[5])
    assert_ratio(ratio, ours_rate, base_rate, rel=0.25)


def check_parse(out: str) -> None:
    assert out.startswith("parse benchmark: 16 files")
    base = number(row(out, "baseline: feedparser.parse(body), plain")[1])
    ours = number(row(out, "newsdesk: parse + normalise (the worker's job)")[1])
    ratio = number(row(out, "ratio newsdesk / baseline, CPU per item")[1])
    assert_ratio(ratio, ours, base)


def check_events(out: str) -> None:
    assert out.startswith("grouping 300 stories over 14 days into")
    line = next(x for x in out.splitlines() if x.startswith("CPU ms per story, p50"))
    ours, naive, ratio = (number(x) for x in line.split()[-3:])
    assert_ratio(ratio, naive, ours)  # this table's ratio is how many times faster ours is


WEB_ROWS = [
    "baseline /healthz", "/  (Hot)", "/all", "/?tag=Agent", "/tags/Safety", "/all?source=…",
    "/events/", "/items/", "search /?q=reasoning", "search /all?q=Kestrel", "search /all?q=推理",
    "/api/v1/items", "/api/v1/items page 5", "/api/v1/search?q=reasoning",
    "reader stream/contents", "/  signed in (editor)", "/all?cursor=(new each)",
    "/api/v1/items?cursor=(new)",
]  # fmt: skip


def check_web(out: str) -> None:
    lines = out.splitlines()
    assert lines[0].startswith("web bench: 300 items, 60 events")
    # Columns are padded to the width of the dashes under the header (names hold two spaces).
    spans = [m.span() for m in re.finditer(r"-+", lines[2])]
    head = re.split(r"\s{2,}", lines[1].strip())
    assert head[:4] == ["engine", "cache", "procs", "endpoint"] and "CPU ms/req" in head
    table = [
        [x[a:b].strip() for a, b in spans[:-1]] + [x[spans[-1][0] :].strip()] for x in lines[3:]
    ]
    engines = ["sqlite"] + ["postgresql"] * bool(PG_URL)
    for engine in engines:
        cells = [c for c in table if c[0] == engine and c[1] == "no cache"]
        names = [c[3] for c in cells]
        assert [n if not n.startswith(("/events/", "/items/")) else n[: n.index("/", 1) + 1]
                for n in names] == WEB_ROWS, names  # fmt: skip
        base_cpu = number(cells[0][10])
        assert base_cpu > 0
        for c in cells:
            assert c[8] == "0", c  # no errors
            # the ratio column is this row's server CPU per request over the baseline's
            assert number(c[11]) == pytest.approx(number(c[10]) / base_cpu, rel=0.05, abs=0.06)
            if c[3] != "baseline /healthz":
                assert c[12] in ("ok", "MISS"), c


def check_tiers(out: str) -> None:
    cells = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("│") and line.endswith("│"):  # a row of rich's table
            parts = [c.strip() for c in line[1:-1].split("│")]
            cells[parts[0]] = parts[1:]
    for view in ("demo", "corpus", "corpus with text"):
        rows = [cells[k] for k in cells if k.startswith(f"{view}: ")]
        assert len(rows) == 4, cells
        counts = [[int(c.split()[0]) for c in r[:2]] for r in rows]
        total = int(next(k for k in cells if k.startswith(f"{view}: p1 of ")).split()[-1])
        assert total > 0 and [sum(col) for col in zip(*counts, strict=True)] == [total, total]
        for (before, after), r in zip(counts, rows, strict=True):
            if before:
                assert_ratio(number(r[2]), after, before)
    # the demo feeds stand in for the corpus here: the lab's posts lead, media reports follow
    assert int(cells["demo secondary reports"][1]) > 0
    assert int(cells["demo follow-up papers"][1]) > 0  # the papers on Qwen3, Gemini 2.5, R1
    before, after, ratio = cells["gold F1 (all scored cases)"]
    assert 0 < number(before) <= 1 and 0 < number(after) <= 1
    assert_ratio(number(ratio), number(after), number(before))
    assert cells["o3-mini System Card (gold case)"][1].startswith("p1 ")
    assert cells["o3-mini System Card (demo desk)"][1].startswith("p1 ")


def check_scale(out: str) -> None:
    if not PG_URL:
        assert out.startswith("scale benchmark: needs PostgreSQL")
        return
    assert out.startswith("scale benchmark: 4 feeds")
    once = row(out, "run_once (one process)")
    one, two = row(out, "1 worker process"), row(out, "2 worker processes")
    # the same feeds give the same stories, every one judged, whichever runs them
    assert int(once[1]) > 0 and once[1] == one[1] == two[1], (once, one, two)
    assert int(one[7]) > 0 and int(two[7]) > 0  # the workers ran jobs
    ratio = number(row(out, "ratio stories/s, 2 workers / 1 worker (target >= 1.7)")[3])
    assert_ratio(ratio, number(two[3]), number(one[3]), rel=0.05)
    ratio = number(row(out, "ratio stories/s, 1 worker / run_once (target >= 0.9)")[3])
    assert_ratio(ratio, number(one[3]), number(once[3]), rel=0.05)


def check_search(out: str) -> None:
    lines = out.splitlines()
    assert lines[0].startswith("hybrid search over 300 stories, 39 queries x 3")
    engines = ["sqlite"] + ["postgresql"] * bool(PG_URL)
    for engine in engines:
        rows = {x.split("  ")[0]: x.split() for x in lines if x.startswith(f"{engine}: ")}
        ours, base, ratio = rows[f"{engine}: semantic top-10 CPU ms p50"][-3:]
        assert_ratio(number(ratio), number(base), number(ours))  # how many times faster
        assert 0 < number(rows[f"{engine}: search CPU ms p50 (whole request)"][-3]) < 10_000
        assert number(rows[f"{engine}: semantic recall@10 vs exact"][-3]) >= 0.5


def check_kdf(out: str) -> None:
    assert out.startswith("password hashing on this machine: 1 hashes a row")
    desk = row(out, "argon2id m=19 MiB t=2 p=1 (OWASP minimum) (desk)")
    base = row(out, "scrypt n=2^17 r=8 p=1 (OWASP minimum)")
    assert_ratio(number(desk[3]), number(desk[2]), number(base[2]), rel=0.2)
    assert "desk: store/passwords.py hash or verify:" in out


DEMO = shlex.quote(str(DEMO_FEEDS))
PG = f"--pg {shlex.quote(PG_URL)}" if PG_URL else ""


def check_pictures(out: str) -> None:
    rows = [line for line in out.splitlines() if line.startswith("| sparkline") or
            line.startswith("| stories per day")]  # fmt: skip
    assert len(rows) == 6, out
    for line in rows:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        ours, pygal, ratio = number(cells[2]), number(cells[3]), number(cells[4])
        assert_ratio(ratio, ours, pygal, rel=0.2)
        if cells[1] == "CPU ms per rendering" and cells[0].startswith("sparkline"):
            assert ours < 1.0  # the budget is 0.2 ms; 1 ms leaves room for a loaded machine


SMOKE: dict[str, tuple[str, Callable[[str], None]]] = {
    "editor.py": ("--stories 12 --latency 0.05 --jitter 0.02 --corpus ''", check_editor),
    "collect.py": (f"--feeds 4 --baseline-feeds 2 --concurrency 4 --corpus {DEMO}", check_collect),
    "parse.py": (f"--rounds 1 --corpus {DEMO}", check_parse),
    "events.py": (
        f"--items 300 --baseline-sample 10 --embed-sample 20 --corpus {DEMO}",
        check_events,
    ),
    "search.py": (f"--items 300 --settle 0 {PG}", check_search),
    "tiers.py": (f"--baseline HEAD --corpus {DEMO}", check_tiers),
    "web.py": (f"--items 300 --events 60 --seconds 0.1 --clients 2 --cache off {PG}", check_web),
    "kdf.py": ("--rounds 1", check_kdf),
    "scale.py": (
        f"--feeds 4 --latency 0.01 --poll 0.25 --settle 1 --corpus {DEMO} {PG}",
        check_scale,
    ),
    "pictures.py": ("--rounds 40", check_pictures),
}


def test_every_benchmark_has_a_smoke_test() -> None:
    scripts = sorted(p.name for p in BENCH.glob("*.py"))
    assert scripts == sorted(SMOKE), "add the new benchmark to SMOKE in this file"


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_benchmark_prints_its_table(name: str) -> None:
    args, check = SMOKE[name]
    check(run_bench(name, *shlex.split(args)))
