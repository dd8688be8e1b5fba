"""Parse + normalise benchmark: CPU per item over every corpus feed, in one process.

The collect benchmark (bench/collect.py) is bound by this on a 2-core machine; this one shows
where an item's CPU goes, without the network. Best of --rounds, `time.process_time`.

Rows:
  baseline   plain `feedparser.parse(body)`, as small aggregators call it (measured first,
             before our workers' feedparser cache is installed in this process)
  newsdesk   the worker's job, `runner.cpu.parse_and_normalize`, and its parts: parsing
             (feedparser with our settings, entries built), normalising, language detection
  options    what was measured and not taken: a 200-character language sample, and
             fastfeedparser when it is installed (not a dependency: `pip install fastfeedparser`
             into the venv to see it), compared entry by entry with feedparser

Another checkout's code can be measured with the same script (e.g. an older commit):
  PYTHONPATH=/path/to/checkout/src .venv/bin/python bench/parse.py

Run: .venv/bin/python bench/parse.py [--rounds 3] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collect import CORPUS, busy_note, corpus_files  # bench/ is not a package: found by path


def best(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    fastest, result = float("inf"), None
    for _ in range(rounds):
        started = time.process_time()
        result = fn()
        fastest = min(fastest, time.process_time() - started)
    return fastest, result


def fast_parser_differences(bodies: list[bytes]) -> tuple[float, str] | None:
    """fastfeedparser against feedparser, when it is installed."""
    try:
        import fastfeedparser  # type: ignore[import-not-found]
    except ImportError:
        return None
    import feedparser

    def fast(body: bytes) -> Any:
        try:
            return fastfeedparser.parse(body)
        except Exception as exc:  # it raises on what it does not recognise
            return exc

    seconds, theirs = best(lambda: [fast(b) for b in bodies], 3)
    ours = [feedparser.parse(b, sanitize_html=False, resolve_relative_uris=False) for b in bodies]
    errors = counts = links = titles = 0
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(b, Exception):
            errors += 1
        elif len(a.entries) != len(b.entries):
            counts += 1
        else:
            for x, y in zip(a.entries, b.entries, strict=True):
                links += (x.get("link") or "") != (y.get("link") or "")
                titles += (x.get("title") or "").strip() != (y.get("title") or "").strip()
    return seconds, (f"{errors} files raise, {counts} other entry counts, "
                     f"{links} other links, {titles} other titles")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder of feed files")
    args = parser.parse_args()
    files = corpus_files(args.corpus)
    if not files:
        sys.exit(f"no feed files in {args.corpus}: the benchmark reads its feeds")
    bodies = [f.read_bytes() for f in files]
    load_before = f"{os.getloadavg()[0]:.2f}"

    import feedparser

    # the baseline first: the worker start-up below patches feedparser for this process
    base_s, parsed = best(lambda: [feedparser.parse(b) for b in bodies], args.rounds)

    import newsdesk
    from newsdesk.domain import Source
    from newsdesk.normalize import FreshnessRules
    from newsdesk.normalize.text import detect_language
    from newsdesk.runner import cpu

    cpu.warm_up()  # what every worker process has done first
    sources = [Source(id=f"f{i}", name="bench", url=f"https://feeds.example/{i}.xml")
               for i in range(len(bodies))]  # fmt: skip
    now, rules = datetime.now(UTC), FreshnessRules()
    jobs = list(zip(sources, bodies, strict=True))
    whole_s, digests = best(
        lambda: [cpu.parse_and_normalize(s, b, s.url, now, rules, False) for s, b in jobs],
        args.rounds,
    )
    items = [i for d in digests for i in d.items]
    n = len(items)
    parse_s, halves = best(lambda: [cpu.parse_only(s, b, s.url) for s, b in jobs], args.rounds)
    norm_s, _ = best(
        lambda: [cpu.normalize_only(e, s, now, rules, False, d)
                 for s, (e, d) in zip(sources, halves, strict=True) if not d.error_code],
        args.rounds,
    )  # fmt: skip

    def sample(limit: int) -> list[str]:
        return [f"{i.title}\n{i.body_text[:limit]}"[:limit] for i in items]

    lang_s, _ = best(lambda: [detect_language(t) for t in sample(400)], args.rounds)
    short = sample(200)
    short_s, langs = best(lambda: [detect_language(t) for t in short], args.rounds)
    changed = sum(a != i.language for a, i in zip(langs, items, strict=True))
    fast = fast_parser_differences(bodies)

    base_items = sum(len(p.entries) for p in parsed)

    def ms(seconds: float, count: int = n) -> str:
        return f"{seconds / count * 1000:.3f}"

    rows = [
        ("baseline: feedparser.parse(body), plain", ms(base_s, base_items), base_items, ""),
        ("newsdesk: parse + normalise (the worker's job)", ms(whole_s), n, ""),
        ("  parse (feedparser, our settings, entries built)", ms(parse_s), n, ""),
        ("  normalise (sanitise, text, identity, language)", ms(norm_s), n, ""),
        ("    of which language detection, 400-character sample", ms(lang_s), n, ""),
        ("option: language sample of 200 characters", ms(short_s), n,
         f"language differs on {changed} items"),
    ]  # fmt: skip
    if fast is not None:
        # per feedparser entry, as the baseline: the two parsers disagree on some counts
        rows.append(("option: fastfeedparser.parse(body)", ms(fast[0], base_items), base_items,
                     fast[1]))  # fmt: skip
    ratio = (whole_s / n) / (base_s / base_items)
    rows.append(("ratio newsdesk / baseline, CPU per item", f"{ratio:.2f}x", "", ""))

    print(f"parse benchmark: {len(files)} files of {args.corpus}, {n} items, best of "
          f"{args.rounds}, code from {Path(newsdesk.__file__).parents[1]}; load average "
          f"{load_before} at the start, {os.getloadavg()[0]:.2f} at the end"
          f"{busy_note(load_before)}")  # fmt: skip
    print("| measure | CPU ms/item | items | note |")
    print("|---|---|---|---|")
    for label, value, count, note in rows:
        print(f"| {label} | {value} | {count} | {note} |")


if __name__ == "__main__":
    main()
