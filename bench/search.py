"""Search speed at 100,000 stories: hybrid search (words and meaning) on SQLite and PostgreSQL.

    .venv/bin/python bench/search.py                 # SQLite, plus PostgreSQL when
                                                     # NEWSDESK_BENCH_PG_URL is set
    .venv/bin/python bench/search.py --items 20000   # a quicker run

Seeds the 100,000-story desk of bench/web.py (demo stories with numbered titles, judged, in
events) and gives every story a vector: the bundled model's vector of its demo story, moved by
random noise so no two are alike (embedding 100,000 texts would take ~7 minutes of CPU and
measure the model, not the search). Then runs the 39 queries of eval/search.jsonl through the
read layer as `/api/v1/search` does (`list_cards(q=…)`, one page of 20 cards), each query
embedded afresh (the query cache is cleared), and measures this process's CPU per search.

The baseline, measured in the same run, is the semantic half done the plain way: a float32
matrix of every vector and one matrix-vector product per query (exact cosine over 100,000
rows). The table also gives the two-step index's recall@10 against that exact ranking, and the
memory of each. On PostgreSQL the server's own CPU is not in this process's figure; the wall
time column includes it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
QUERIES = ROOT / "eval" / "search.jsonl"
TARGET_MS = 10.0
# Stored a few milliseconds apart, as the embedding step stores them (~250 stories a second
# with two workers): a search process re-reads the stamps of its last 15 s.
PER_VECTOR = timedelta(milliseconds=4)


def _bench_web() -> Any:
    spec = importlib.util.spec_from_file_location("bench_web", HERE.parent / "web.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_vectors(url: str, n_items: int) -> None:
    from sqlalchemy import insert

    from newsdesk.embed.base import normalise, story_text, to_blob
    from newsdesk.embed.local import embed_texts, model_name
    from newsdesk.store import schema as t
    from newsdesk.store.db import Database

    stories = _bench_web().demo_stories()
    base = embed_texts([story_text(title, text) for title, text, _ in stories])
    rng = np.random.default_rng(11)
    db = Database(url)
    now = datetime.now(UTC)
    chunk = 5000
    for start in range(1, n_items + 1, chunk):
        ids = np.arange(start, min(start + chunk, n_items + 1))
        noise = rng.standard_normal((len(ids), base.shape[1])).astype(np.float32) * 0.04
        matrix = normalise(base[ids % len(stories)] + noise)
        rows = [
            {"item_id": int(i), "model": model_name(), "dim": 512, "vector": to_blob(v),
             "revision": 1, "created_at": now - (n_items - int(i)) * PER_VECTOR}
            for i, v in zip(ids, matrix, strict=True)
        ]  # fmt: skip
        db.write_sync(lambda c, r=rows: c.execute(insert(t.item_vectors), r))
    db.close()


def backend_pid(conn: Any) -> int | None:
    """The PostgreSQL server process serving this connection; None on SQLite, whose work is
    in this process's CPU."""
    if conn.dialect.name == "sqlite":
        return None
    from sqlalchemy import text

    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of that server process, read from /proc (the database runs
    on this machine; elsewhere its CPU is in the wall time only)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, label: str, settle: float, upgrade_first: bool = True) -> dict[str, Any]:
    """Search CPU on a seeded desk with the code this process imports (the "before" run
    imports another checkout's and does not migrate: the newer schema only adds to it)."""
    from newsdesk.embed.local import embed_texts
    from newsdesk.publish import search
    from newsdesk.publish.read import PUBLIC_TIERS, list_cards
    from newsdesk.store import vectors as store_vectors
    from newsdesk.store.db import Database

    queries = [json.loads(line)["query"] for line in QUERIES.read_text().splitlines() if line]
    db = Database(url)
    if upgrade_first:  # as a server does when it starts on a desk seeded by older code
        from newsdesk.store.migrate import upgrade

        upgrade(db)
    search.forget_indexes()
    model = search.search_model()
    assert model is not None
    out: dict[str, Any] = {"label": label}
    with db.read() as conn:
        embed_texts(["warm up the model"])
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        c0 = time.process_time()
        index = search.vector_index(conn, model)
        out["load_s"] = time.process_time() - c0
        assert index is not None
        out["index_mb"] = index.nbytes / 1e6
        rows = store_vectors.since(conn, model, None)
        from newsdesk.embed.base import from_blob

        ids = np.array([r.item_id for r in rows])
        full = np.stack([from_blob(r.vector, 512) for r in rows])
        out["float32_mb"] = full.nbytes / 1e6
        out["rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        cpu, wall, exact_cpu, sem_cpu, recall = [], [], [], [], []
        db_cpu = 0.0  # seconds; /proc counts in ticks of 10 ms, so it is added up, not per search
        pid = backend_pid(conn)
        parts: dict[str, list[float]] = {name: [] for name in PARTS}

        def timed(name: str, call: Any) -> Any:
            c0 = time.process_time()
            result = call()
            parts[name].append((time.process_time() - c0) * 1000)
            return result

        # a server that has been up a while: the index loaded, no vector arriving
        time.sleep(settle)
        for q in queries[:5]:
            list_cards(conn, tiers=PUBLIC_TIERS, q=q, limit=20)
        for rnd in range(3):
            for q in queries:
                search._QUERY_CACHE.clear()  # every query embedded afresh
                b0 = backend_cpu(pid)
                t0, c0 = time.perf_counter(), time.process_time()
                page = list_cards(conn, tiers=PUBLIC_TIERS, q=q, limit=20)
                c1 = time.process_time()
                db_cpu += backend_cpu(pid) - b0
                cpu.append((c1 - c0) * 1000)
                wall.append((time.perf_counter() - t0) * 1000)
                assert isinstance(page.cards, list)
                if rnd:
                    continue
                # where the request's CPU goes, part by part (functions both versions have)
                search._QUERY_CACHE.clear()
                vector = timed("embed", lambda q=q: search._query_vector(" ".join(q.split())))
                timed("index", lambda v=vector: index.search(
                    v, k=search.SEMANTIC_K, floor=search.SEMANTIC_FLOOR))  # fmt: skip
                timed("lexical", lambda q=q: search.search_ids(conn, q, "lexical"))
                timed("ranking", lambda q=q: search.search_ids(conn, q))
                timed("request", lambda q=q: list_cards(conn, tiers=PUBLIC_TIERS, q=q, limit=20))
                vector = embed_texts([q])[0]
                c0 = time.process_time()
                hits = index.search(vector, k=10)
                sem_cpu.append((time.process_time() - c0) * 1000)
                c0 = time.process_time()
                scores = full @ vector
                exact = ids[np.argpartition(-scores, 10)[:10]]
                exact_cpu.append((time.process_time() - c0) * 1000)
                recall.append(len({h.item_id for h in hits} & set(exact.tolist())) / 10)
    db.close()
    out.update(
        cpu_p50=statistics.median(cpu), cpu_p95=float(np.percentile(cpu, 95)),
        wall_p50=statistics.median(wall), wall_p95=float(np.percentile(wall, 95)),
        db_mean=db_cpu * 1000 / len(cpu), sem_p50=statistics.median(sem_cpu),
        exact_p50=statistics.median(exact_cpu), recall=statistics.mean(recall),
        parts={name: statistics.median(v) for name, v in parts.items()},
    )  # fmt: skip
    return out


PARTS = {
    "embed": "part: embed the query",
    "index": "part: vector index, 100 nearest",
    "lexical": "part: word lists and all-words match",
    "ranking": "part: ranking, fused (query embedded)",
    "request": "part: request, query embedded",
}


def measure_before(src: str, url: str, label: str, settle: float) -> dict[str, Any]:
    """The same measurement with another checkout's code (`--before DIR`), in a process of
    its own that imports that code."""
    env = os.environ | {"PYTHONPATH": str(Path(src).resolve() / "src")}
    out = subprocess.run(
        [sys.executable, str(HERE), "--measure", url, label, str(settle)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return dict(json.loads(out.strip().splitlines()[-1]))


def run_engine(
    url: str, label: str, n_items: int, seeded: bool = False, settle: float = 16.0,
    before: str = "",
) -> list[dict[str, Any]]:  # fmt: skip
    """The measurement on this engine: with `before`, first with that checkout's code, then
    with ours, on the same desk in the same run."""
    if not seeded:
        web = _bench_web()
        t0 = time.perf_counter()
        web.seed(url, n_items, n_items // 5)
        seed_vectors(url, n_items)
        took = time.perf_counter() - t0
        print(f"{label}: seeded {n_items} stories in {took:.0f} s", file=sys.stderr)
    runs = [measure_before(before, url, label, settle)] if before else []
    return [*runs, measure(url, label, settle)]


def _seeded(keep: Path | None, engine: str, items: int) -> bool:
    marker = keep / f"seeded-{engine}.json" if keep else None
    return bool(marker and marker.exists() and json.loads(marker.read_text()) == items)


def _mark(keep: Path | None, engine: str, items: int) -> None:
    if keep:
        (keep / f"seeded-{engine}.json").write_text(json.dumps(items))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--pg", default=os.environ.get("NEWSDESK_BENCH_PG_URL", ""),
                   help="a PostgreSQL URL; the run uses a schema of its own")  # fmt: skip
    p.add_argument("--sqlite-file", default="", help="keep the SQLite desk here and reuse it")
    p.add_argument("--keep", default="",
                   help="a directory to keep both desks in (the SQLite file and the name of the "
                        "PostgreSQL schema) and reuse on later runs of the same size")  # fmt: skip
    p.add_argument(
        "--settle", type=float, default=16.0, help="seconds to wait so no vector is 'arriving'"
    )
    p.add_argument("--before", default="",
                   help="a checkout of earlier code (e.g. a git worktree) measured first on the "
                        "same desks, printed beside ours")  # fmt: skip
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":  # the --before run's own process
        url, label, settle = sys.argv[2], sys.argv[3], float(sys.argv[4])
        print(json.dumps(measure(url, label, settle, upgrade_first=False)))
        return
    args = p.parse_args()
    keep = Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        args.sqlite_file = args.sqlite_file or str(keep / "search.db")
    results = []
    if args.sqlite_file:  # seeded once, measured again (a file this script made)
        path = Path(args.sqlite_file)
        seeded = _seeded(keep, "sqlite", args.items) if keep else path.exists()
        if keep and not seeded:
            path.unlink(missing_ok=True)  # a seed that stopped half-way
        results.append(
            run_engine(f"sqlite:///{path}", "sqlite", args.items, seeded, args.settle, args.before)
        )
        _mark(keep, "sqlite", args.items)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            results.append(
                run_engine(url, "sqlite", args.items, settle=args.settle, before=args.before)
            )
    if args.pg:
        web = _bench_web()
        kept = keep / "pg-schema" if keep else None
        if kept and kept.exists() and _seeded(keep, "pg", args.items):
            schema = kept.read_text().strip()
            url, seeded = web.pg_url(args.pg, schema), True
        else:
            (url, schema), seeded = web.fresh_pg_schema(args.pg), False
            if kept:
                kept.write_text(schema)
        try:
            results.append(
                run_engine(url, "postgresql", args.items, seeded, args.settle, args.before)
            )
            _mark(keep, "pg", args.items)
        finally:
            if not kept:
                web.drop_pg_schema(args.pg, schema)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    queries = sum(1 for line in QUERIES.read_text().splitlines() if line)
    print(f"hybrid search over {args.items} stories, {queries} queries x 3; "
          f"{stamp}, load average {load}")  # fmt: skip
    before = "before" if args.before else ""
    print(f"{'measure':56}{before:>10}{'ours':>10}{'baseline':>10}{'ratio':>8}")
    for runs in results:
        r, old = runs[-1], (runs[0] if len(runs) > 1 else None)
        e = r["label"]
        rows = [
            (f"{e}: search CPU ms p50 (whole request)", "cpu_p50", None),
            (f"{e}: search CPU ms p95", "cpu_p95", None),
            (f"{e}: search wall ms p50", "wall_p50", None),
        ]
        if e != "sqlite":
            rows.append((f"{e}: PostgreSQL server CPU ms, mean", "db_mean", None))
        rows += [
            (f"{e}: semantic top-10 CPU ms p50", "sem_p50", "exact_p50"),
            (f"{e}: semantic recall@10 vs exact", "recall", 1.0),
            (f"{e}: vectors in memory, MB", "index_mb", "float32_mb"),
            (f"{e}: index load CPU s (first search)", "load_s", None),
        ]
        rows += [(f"{e}: {name} ms p50", ("parts", key), None) for key, name in PARTS.items()]
        for name, key, base_key in rows:

            def value(run: dict[str, Any], k: Any = key) -> float:
                return float(run[k[0]][k[1]] if isinstance(k, tuple) else run[k])

            ours = value(r)
            base = value(r, base_key) if isinstance(base_key, str) else base_key
            ratio = f"{base / ours:.1f}x" if base and ours and "recall" not in name else "-"
            shown = f"{base:.2f}" if base is not None else "-"
            was = f"{value(old):.2f}" if old else ""
            print(f"{name:56}{was:>10}{ours:>10.2f}{shown:>10}{ratio:>8}")
    print(
        f"(ours: list_cards(q=…) as /api/v1/search runs it, query embedded each time, "
        f"target p95 <= {TARGET_MS:g} ms of CPU; before: the same on the same desk with "
        f"{args.before or 'no earlier code'}; baseline: exact float32 cosine over every vector; "
        f"PostgreSQL server CPU: the backend process serving the search, from /proc; parts: "
        f"medians of each part alone, first round)"
    )


if __name__ == "__main__":
    main()
