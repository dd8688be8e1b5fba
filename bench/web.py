"""Web speed: seed a large desk, then drive 16 concurrent clients from a second process.

    .venv/bin/python bench/web.py                      # SQLite, plus PostgreSQL when
                                                       # NEWSDESK_BENCH_PG_URL is set
    .venv/bin/python bench/web.py --seconds 8          # a shorter run (the issue asks 30 s)
    .venv/bin/python bench/web.py --items 300 --events 60 --seconds 0.5 --cache off
                                                       # the suite's smoke test

Seeds 100,000 items and 20,000 events (synthetic, built from the demo feeds' stories; ids grow
with time and every event has a lead, as on a real desk) with bulk inserts, starts `uvicorn` on
the desk (one process, as `newsdesk web` runs it), and for each endpoint keeps 16 requests in
flight for a bounded time from a second process: `wrk` when it is installed (`apt-get install
wrk`; a Lua hook prints its latency percentiles), else a Python client (httpx), which shares
the cores with the server it measures. The table's first line names the load generator used.
Each engine runs twice: as the desk ships (anonymous pages kept 5 s by the micro-cache)
and with the cache off, so every request queries and renders. Prints one table: p50/p95/p99,
requests/s, errors, server RSS, and the ratio of each endpoint's p50 to the baseline measured
in the same run: `/healthz`, the same server's floor (routing, the event loop, HTTP) with no
database and no template.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
TARGETS = {"page": (15.0, 50.0), "api": (8.0, 20.0)}
TIERS = ["p1"] * 10 + ["featured"] * 25 + ["all"] * 50 + ["excluded"] * 15
CAPS = ["Reasoning", "Agent", "Code", "Multimodal", "Safety", "Inference-opt", "Alignment"]
RARE_WORD, RARE_EVERY = "Kestrel", 7919  # in about 13 of 100,000 stories
COMMON_WORD = "reasoning"  # in a quarter of the demo stories, so of the desk
CHINESE_WORD = "推理"  # in 8 of the 20 Chinese demo stories
TOPICS = ["Product update", "Research release", "Funding", "Policy", "Open source", "Benchmark"]


# ---------------------------------------------------------------- seeding


def demo_stories() -> list[tuple[str, str, str]]:
    """(title, summary, language) of every story in the bundled demo feeds."""
    import feedparser

    from newsdesk.sources.catalog import DEMO_FEEDS

    out = []
    for path in sorted(DEMO_FEEDS.glob("*.xml")):
        for e in feedparser.parse(path.read_bytes()).entries:
            text = re.sub(r"<[^>]+>", " ", e.get("summary", ""))
            text = re.sub(r"\s+", " ", text).strip()
            lang = "zh" if re.search(r"[\u4e00-\u9fff]", e.title) else "en"
            out.append((e.title, text[:600], lang))
    return out


def seed(url: str, n_items: int, n_events: int) -> dict[str, Any]:
    """Bulk-insert a desk of n_items stories and n_events events; returns ids to request."""
    from sqlalchemy import insert

    from newsdesk.sources.catalog import DEMO_CATALOG, load_catalog
    from newsdesk.store import repo
    from newsdesk.store import schema as t
    from newsdesk.store.db import Database
    from newsdesk.store.migrate import upgrade

    rnd = random.Random(7)
    db = Database(url)
    upgrade(db)
    stories = demo_stories()
    sharp = (ROOT / ".." / "shared" / "seed" / "card.txt").resolve()
    sharp_text = (
        sharp.read_text(encoding="utf-8")[:4000] if sharp.exists() else "An analysis. " * 300
    )
    now = datetime.now(UTC)
    sources = load_catalog(DEMO_CATALOG, demo_base="http://127.0.0.1:9")
    db.write_sync(lambda c: repo.upsert_sources(c, sources, now))
    chunk = 5000
    event_of: dict[int, int] = {}
    lead_of: dict[int, int] = {}  # event -> its lead story, so list_cards collapses members
    # Events take about half the stories, 1 to 8 each, like real coverage.
    item_ids = list(range(1, n_items + 1))
    rnd.shuffle(item_ids)
    pos = 0
    for ev in range(1, n_events + 1):
        k = min(rnd.choice([1, 1, 2, 2, 3, 4, 6, 8]), n_items - pos)
        for iid in item_ids[pos : pos + k]:
            event_of[iid] = ev
            lead_of.setdefault(ev, iid)
        pos += k
    sizes: dict[int, int] = {}
    for ev in event_of.values():
        sizes[ev] = sizes.get(ev, 0) + 1

    def rows(start: int, stop: int) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {
            "items": [], "judgements": [], "item_tags": [], "commentary": [], "fts": []
        }  # fmt: skip
        for iid in range(start, stop):
            title, summary, lang = stories[iid % len(stories)]
            title = f"{title} ({iid})"
            if iid % RARE_EVERY == 0:  # a rare word: a search that must not walk the whole desk
                summary = f"{summary} {RARE_WORD} reported it."
            src = sources[iid % len(sources)]
            # ids grow with time, as on a real desk (FTS walks newest-first by rowid)
            when = now - timedelta(minutes=(n_items - iid) * 5 + rnd.randint(0, 4))
            tier = TIERS[iid % len(TIERS)]
            tags = {
                "capabilities": rnd.sample(CAPS, 2), "entities": [src.name.split()[0]],
                "topics": [rnd.choice(TOPICS)],
            }  # fmt: skip
            imp = {"p1": 88, "featured": 78, "all": 62, "excluded": 30}[tier] + rnd.randint(0, 6)
            out["items"].append(dict(
                id=iid, identity_key=f"bench:{iid}", source_id=src.id,
                url=f"https://example.com/{src.id}/{iid}", guid="", title=title, body_text=summary,
                body_html="", language=lang, authors=[], published_at=when, filed_at=when,
                first_seen_at=when, updated_at=when, backfill=False, content_hash=f"{iid:064x}",
                revision=1, judgement_id=iid, tier=tier, importance=imp,
            ))  # fmt: skip
            out["judgements"].append(dict(
                id=iid, item_id=iid, created_at=when, policy_version="bench", editor="rules",
                importance=imp, tier=tier, hook=True, knowledge=imp > 60, resonance=imp > 80,
                hook_reason="", knowledge_reason="", resonance_reason="", tags=tags,
                title_en=title if lang == "en" else "", title_zh=title if lang == "zh" else "",
                summary_en=summary if lang == "en" else "",
                summary_zh=summary if lang == "zh" else "", why="Synthetic bench story.",
                excluded_reason="",
            ))  # fmt: skip
            for tag in {*tags["capabilities"], *tags["entities"], *tags["topics"]}:
                row = {"item_id": iid, "tag": tag, "filed_at": when}
                if "filed_at" not in t.item_tags.c:  # the code before 0011_feed_indexes
                    del row["filed_at"]
                out["item_tags"].append(row)
            if tier == "p1":
                out["commentary"].append(dict(
                    item_id=iid, created_at=when, policy_version="bench", editor="bench-model",
                    take_en="The gate split matters more than the label.", take_zh="",
                    sharp_en=sharp_text, sharp_zh="",
                ))  # fmt: skip
            out["fts"].append({"id": iid, "title": title, "summary": summary})
        return out

    def write_chunk(conn: Any, data: dict[str, list[dict[str, Any]]]) -> None:
        conn.execute(insert(t.items), data["items"])
        conn.execute(insert(t.judgements), data["judgements"])
        conn.execute(insert(t.item_tags), data["item_tags"])
        if data["commentary"]:
            conn.execute(insert(t.commentary), data["commentary"])
        from sqlalchemy import text

        from newsdesk.store.search import cjk_grams, word_text

        # the rows `store.search.index_item` writes, in bulk
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "INSERT INTO items_fts (rowid, title, summary) VALUES (:id, :title, :summary)"
                ),
                data["fts"],
            )
            words = [
                {
                    "id": r["id"],
                    "title": r["title"],
                    "words": word_text(f"{r['title']}\n{r['summary']}"),
                }
                for r in data["fts"]
            ]
            conn.execute(
                text("INSERT INTO items_words (rowid, words, title) VALUES (:id, :words, :title)"),
                words,
            )
        else:
            pairs = [r | {"cjk": cjk_grams(f"{r['title']}\n{r['summary']}")} for r in data["fts"]]
            conn.execute(
                text(
                    "INSERT INTO items_fts (item_id, title, summary, cjk) "
                    "VALUES (:id, :title, :summary, :cjk)"
                ),
                pairs,
            )

    for start in range(1, n_items + 1, chunk):
        data = rows(start, min(start + chunk, n_items + 1))
        db.write_sync(lambda c, d=data: write_chunk(c, d))  # type: ignore[misc]

    ev_rows, mem_rows = [], []
    for ev in range(1, n_events + 1):
        when = now - timedelta(minutes=ev * 20)
        ev_rows.append(dict(
            id=ev, title_en=f"Event {ev}", title_zh="", lead_item_id=lead_of.get(ev),
            sources_count=sizes.get(ev, 1), heat=rnd.random() * 5, first_seen_at=when,
            last_seen_at=when, created_at=when, updated_at=when,
        ))  # fmt: skip
    for iid, ev in event_of.items():
        mem_rows.append(dict(
            item_id=iid, event_id=ev, similarity=0.9, manual=False,
            relation="lead" if lead_of[ev] == iid else "same_occurrence",
            added_at=now,
        ))  # fmt: skip

    def write_events(conn: Any) -> None:
        for i in range(0, len(ev_rows), chunk):
            conn.execute(insert(t.events), ev_rows[i : i + chunk])
        for i in range(0, len(mem_rows), chunk):
            conn.execute(insert(t.event_members), mem_rows[i : i + chunk])

    db.write_sync(write_events)
    if not db.is_sqlite:
        from sqlalchemy import text

        def fix_sequences(conn: Any) -> None:
            for table in ("items", "judgements", "events"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))

        db.write_sync(fix_sequences)
    else:
        db.write_sync(lambda c: c.exec_driver_sql("ANALYZE"))
    db.close()
    busy = max(sizes, key=lambda e: sizes[e]) if sizes else 1
    sample_item = next(i for i in range(1, n_items) if TIERS[i % len(TIERS)] == "p1")
    # a source with about an average share of the stories (the source filter's row)
    return {"event": busy, "item": sample_item, "source": sources[len(sources) // 2].id}


# ---------------------------------------------------------------- server and clients


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _drive(
    url: str, seconds: float, clients: int, headers: dict[str, str], at_least: int = 1
) -> dict[str, Any]:
    """Each client asks for `seconds`, and at least `at_least` times."""
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    urls = iter(new_cursors(url) * 1000) if NEW_CURSOR in url else None
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:

        async def one() -> None:
            nonlocal errors
            # At least one request each: a short run on a busy machine still measures.
            done = 0
            while done < at_least or time.perf_counter() < stop:
                done += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(next(urls) if urls else url)
                    await r.aread()
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"n": %d, "errors": %d, "rps": %.3f, "p50": %.3f, "p95": %.3f, "p99": %.3f}\\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def load_generator() -> str:
    """wrk (C, one thread, a few MB) when installed: a Python client on the same two cores
    takes CPU from the server it measures. NEWSDESK_BENCH_CLIENT=python forces the fallback."""
    if os.environ.get("NEWSDESK_BENCH_CLIENT") == "python":
        return "python"
    return "wrk" if shutil.which("wrk") else "python"


def drive_wrk(
    url: str, seconds: float, clients: int, headers: dict[str, str], paths: list[str] | None = None
) -> dict[str, Any]:
    """16 connections on one wrk thread; the Lua `done` hook prints the percentiles as JSON
    (status errors count non-2xx/3xx answers). With `paths`, each request asks the next one."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        if paths:
            f.write("local paths = {" + ",".join(json.dumps(x) for x in paths) + "}\n"
                    "local i = 0\nrequest = function()\n  i = i % #paths + 1\n"
                    "  return wrk.format(nil, paths[i])\nend\n")  # fmt: skip
        f.write(WRK_SCRIPT)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
             "-s", f.name, *(x for k, v in headers.items() for x in ("-H", f"{k}: {v}")), url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(f.name)
    return dict(json.loads(next(line for line in out.splitlines() if line.startswith("{"))))


CLIENTS = {"here": "httpx in the bench's process (rows under 1 s; wrk runs whole seconds)"}


def drive_here(url: str, seconds: float, clients: int, headers: dict[str, str]) -> dict[str, Any]:
    """The Python client in this process: requests, errors, rate and percentiles. Rows this
    short need enough requests that the server's CPU, counted in 10 ms clock ticks, shows."""
    result = asyncio.run(_drive(url, seconds, clients, headers, at_least=50))
    lat = sorted(result["latencies"])

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

    return {
        "n": len(lat), "errors": result["errors"], "rps": len(lat) / result["elapsed"],
        "p50": statistics.median(lat) if lat else float("nan"), "p95": pct(95), "p99": pct(99),
    }  # fmt: skip


def drive(url: str, seconds: float, clients: int, headers: dict[str, str]) -> None:
    print(json.dumps(drive_here(url, seconds, clients, headers)))


def tree(pid: int) -> list[int]:
    """The server process and its descendants (`newsdesk web --workers N` forks N servers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system time of the server processes (threads included), from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def rss_mb(pids: list[int]) -> float:
    """The largest resident set of one server process."""
    best = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    best = max(best, int(line.split()[1]))
        except OSError:
            continue
    return best / 1024


def run_engine(label: str, url: str, args: argparse.Namespace) -> list[list[str]]:
    t0 = time.perf_counter()
    ids = seed_once(url, args)
    seeded = time.perf_counter() - t0
    print(f"{label}: desk of {args.items:,} items and {args.events:,} events ready in "
          f"{seeded:.1f} s", file=sys.stderr)  # fmt: skip
    rows = []
    # The desk as it ships (anonymous pages kept 5 s), then every request rendered afresh.
    modes = {"on": [("cache", "5")], "off": [("no cache", "0")]}
    for procs in args.workers:
        args.procs = procs
        for mode, ttl in modes.get(args.cache, modes["on"] + modes["off"]):
            if args.before:  # the earlier code first, on the same desk, in its schema
                migrate_to(url, before_head(args.before))
                rows += run_server([f"{label} before", mode, str(procs)], url, ids, ttl, procs,
                                   args, src=args.before)  # fmt: skip
                migrate_to(url, "head")
            rows += run_server([label, mode, str(procs)], url, ids, ttl, procs, args)
    return rows


def before_head(src: str) -> str:
    """The newest schema revision an earlier checkout knows."""
    from alembic.script import ScriptDirectory

    folder = Path(src).resolve() / "src" / "newsdesk" / "store" / "migrations"
    head = ScriptDirectory(str(folder)).get_current_head()
    assert head, f"no migrations in {folder}"
    return head


def migrate_to(url: str, revision: str) -> None:
    """Bring the desk's schema to `revision` with this checkout's migrations (down to the
    earlier code's, then back up), outside the server, so its start is not timed out by a
    long migration."""
    from alembic import command

    from newsdesk.store.db import Database
    from newsdesk.store.migrate import alembic_config, current_revision

    db = Database(url)
    try:
        if revision == "head":
            command.upgrade(alembic_config(db), "head")
        elif current_revision(db) != revision:
            command.downgrade(alembic_config(db), revision)
    finally:
        db.close()


def seed_once(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Seed the desk, or reuse the one a previous run with --keep left (same size)."""
    if not args.keep:
        return seed(url, args.items, args.events)
    marker = Path(args.keep) / f"seeded-{'sqlite' if url.startswith('sqlite') else 'pg'}.json"
    if marker.exists():
        kept = json.loads(marker.read_text())
        if kept["size"] == [args.items, args.events]:
            return dict(kept["ids"])
    ids = seed(url, args.items, args.events)
    marker.write_text(json.dumps({"size": [args.items, args.events], "ids": ids}))
    return ids


def start_server(
    url: str, port: int, ttl: str, procs: int, home: str, src: str = ""
) -> subprocess.Popen[bytes]:
    """`newsdesk web` as an operator starts it, in an empty directory (no newsdesk.toml);
    with `src`, the code of that checkout (its `src` first on the import path)."""
    extra = {"PYTHONPATH": str(Path(src).resolve() / "src")} if src else {}
    env = (
        os.environ
        | extra
        | {
            "PYTHONUNBUFFERED": "1",
            "NEWSDESK_DATABASE_URL": tagged(url, port),
            "NEWSDESK_DATA_DIR": home,
            "NEWSDESK_HOST": "127.0.0.1",
            "NEWSDESK_PORT": str(port),
            "NEWSDESK_PAGE_CACHE_SECONDS": ttl,
            # One load generator is one client: the per-client API rate limit (120/min) is off.
            "NEWSDESK_API_RATE_LIMIT": "0",
            "NEWSDESK_ADMIN_PASSWORD": BENCH_PASSWORD,
            "NEWSDESK_READER_USER": "bench",
            "NEWSDESK_READER_PASSWORD": BENCH_PASSWORD,
        }
    )
    command = str(Path(sys.executable).with_name("newsdesk"))
    return subprocess.Popen([command, "web", "--workers", str(procs)], env=env, cwd=home,
                            stdout=subprocess.DEVNULL)  # fmt: skip


BENCH_PASSWORD = "bench-password-not-secret"


def tagged(url: str, port: int) -> str:
    """PostgreSQL: the server's connections carry an application name, so the bench can find
    their server processes and read their CPU (`db_cpu_seconds`)."""
    if url.startswith("sqlite"):
        return url
    return f"{url}{'&' if '?' in url else '?'}application_name={app_name(port)}"


def app_name(port: int) -> str:
    return f"newsdesk-bench-{port}"


def db_cpu_seconds(url: str, port: int) -> dict[int, float]:
    """CPU seconds of each PostgreSQL server process serving the bench server on `port`,
    from /proc (the database runs on this machine); {} on SQLite, whose work is in the
    server's own CPU."""
    if url.startswith("sqlite"):
        return {}
    import psycopg

    base = url.split("?", 1)[0]
    with psycopg.connect(base, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app_name(port),)
        )]  # fmt: skip
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def sign_in(base: str) -> str:
    """An editor's session cookie, by the real sign-in form."""
    import httpx

    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/signin")
        csrf = client.cookies.get("nd_login_csrf", path="/signin") or ""
        r = client.post("/signin", data={"password": BENCH_PASSWORD, "csrf": csrf, "next": "/"})
        if r.status_code != 303:
            raise SystemExit(f"the bench could not sign in: {r.status_code}")
        return f"nd_session={r.cookies['nd_session']}"


def reader_login(base: str) -> str:
    import httpx

    r = httpx.post(base + "/accounts/ClientLogin",
                   data={"Email": "bench", "Passwd": BENCH_PASSWORD}, timeout=30)  # fmt: skip
    r.raise_for_status()
    auth = next(x for x in r.text.splitlines() if x.startswith("Auth="))[5:]
    return f"GoogleLogin auth={auth}"


def api_cursor(base: str, pages: int) -> str:
    """The cursor of API page `pages` (following next_cursor from the first page)."""
    import httpx

    cursor = ""
    for _ in range(pages - 1):
        r = httpx.get(base + "/api/v1/items" + (f"?cursor={cursor}" if cursor else ""), timeout=30)
        cursor = r.json()["next_cursor"] or cursor
    return cursor


def endpoints(base: str, ids: dict[str, Any]) -> list[tuple[str, str, str | None, dict[str, str]]]:
    """(name, path, target kind, headers): the rows of the table, in order."""
    from urllib.parse import quote

    editor = {"Cookie": sign_in(base)}
    reader = {"Authorization": reader_login(base)}
    stream = "/reader/api/0/stream/contents/user/-/state/com.google/reading-list?n=20"
    return [
        ("baseline /healthz", "/healthz", None, {}),
        ("/  (Hot)", "/", "page", {}),
        ("/all", "/all", "page", {}),
        ("/?tag=Agent", "/?tag=Agent", "page", {}),
        ("/tags/Safety", "/tags/Safety", "page", {}),
        ("/all?source=…", f"/all?source={ids['source']}", "page", {}),
        (f"/events/{ids['event']}", f"/events/{ids['event']}", "page", {}),
        (f"/items/{ids['item']}", f"/items/{ids['item']}", "page", {}),
        (f"search /?q={COMMON_WORD}", f"/?q={COMMON_WORD}", "page", {}),
        (f"search /all?q={RARE_WORD}", f"/all?q={RARE_WORD}", "page", {}),
        (f"search /all?q={CHINESE_WORD}", f"/all?q={quote(CHINESE_WORD)}", "page", {}),
        ("/api/v1/items", "/api/v1/items", "api", {}),
        ("/api/v1/items page 5", f"/api/v1/items?cursor={api_cursor(base, 5)}", "api", {}),
        (f"/api/v1/search?q={COMMON_WORD}", f"/api/v1/search?q={COMMON_WORD}", "api", {}),
        ("reader stream/contents", stream, "api", reader),
        ("/  signed in (editor)", "/", "page", editor),
        # Not the rows: every request a page nobody asked for before (a cursor into the
        # desk's history), so nothing kept applies; what one new URL costs.
        ("/all?cursor=(new each)", "/all?cursor=" + NEW_CURSOR, "page", {}),
        ("/api/v1/items?cursor=(new)", "/api/v1/items?cursor=" + NEW_CURSOR, "api", {}),
    ]


NEW_CURSOR = "{new}"  # replaced per request by a cursor of its own


def new_cursors(path: str, n: int = 6000) -> list[str]:
    """`n` versions of path, each with a different cursor into the last 300 days."""
    from newsdesk.publish.read import encode_cursor

    rnd = random.Random(17)
    now = datetime.now(UTC)
    return [
        path.replace(NEW_CURSOR, encode_cursor(now - timedelta(minutes=rnd.randint(60, 432_000)),
                                               rnd.randint(1, 10**6)))
        for _ in range(n)
    ]  # fmt: skip


def run_server(
    label: list[str], url: str, ids: dict[str, Any], ttl: str, procs: int,
    args: argparse.Namespace, src: str = "",
) -> list[list[str]]:  # fmt: skip
    import httpx

    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        server = start_server(url, port, ttl, procs, home, src)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"{label}: the server did not come up")
                time.sleep(0.2)
            if procs > 1:  # every process answers /healthz before the clock starts
                time.sleep(2)
            return measure(label, base, ids, server.pid, args, (url, port))
        finally:
            stop_server(server)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL for the whole tree if it has not stopped in 30 s (a supervisor
    waits for its workers' requests)."""
    pids = tree(server.pid)
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        server.wait(timeout=30)


def measure(
    label: list[str], base: str, ids: dict[str, Any], pid: int, args: argparse.Namespace,
    database: tuple[str, int] = ("sqlite", 0),
) -> list[list[str]]:  # fmt: skip
    import httpx

    # Warm up (imports, first connections, caches of the interpreter) off the record, so
    # the baseline is the server's floor, not its first second.
    if args.client == "wrk":
        drive_wrk(base + "/healthz", 1, args.clients, {})
    elif args.client == "here":
        drive_here(base + "/healthz", 4 * args.seconds, args.clients, {})
    rows: list[list[str]] = []
    base_cpu = None
    for name, path, kind, headers in endpoints(base, ids):
        if kind is not None and args.only and not any(w in name for w in args.only):
            continue  # --only: the baseline always runs, then the rows asked for
        # Each server process answers it a few times off the record (new connections land on
        # either process): its first answers compile templates and statements and fill caches.
        paths = new_cursors(path) if NEW_CURSOR in path else None
        for k in range(4 * args.procs):
            probe = httpx.get(base + (paths[-1 - k] if paths else path), headers=headers,
                              timeout=30)  # fmt: skip
        if probe.status_code != 200:
            rows.append([*label, name, f"answers {probe.status_code}"])
            continue
        if args.procs > 1 and args.client == "wrk":
            # wrk's connections land on either process, while the probes above may all have
            # reached one: a second of load makes sure each process has answered the endpoint
            drive_wrk(base + path.replace(NEW_CURSOR, ""), 1, args.clients, headers, paths)
        pids = tree(pid)
        cpu0, db0 = cpu_seconds(pids), db_cpu_seconds(*database)
        if args.client == "wrk":
            r = drive_wrk(base + path.replace(NEW_CURSOR, ""), args.seconds, args.clients,
                          headers, paths)  # fmt: skip
        elif args.client == "here":
            r = drive_here(base + path, args.seconds, args.clients, headers)
        else:
            out = subprocess.run(
                [sys.executable, str(HERE), "--drive", base + path, str(args.seconds),
                 str(args.clients), json.dumps(headers)],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            r = json.loads(out.strip().splitlines()[-1])
        if not r["n"]:
            rows.append([*label, name, f"no answer within {args.seconds:g} s"])
            continue
        cpu_ms = (cpu_seconds(pids) - cpu0) * 1000 / r["n"]
        db1 = db_cpu_seconds(*database)
        db_ms = (
            f"{sum(v - db0.get(k, 0.0) for k, v in db1.items()) * 1000 / r['n']:.2f}"
            if db1 else "-"
        )  # fmt: skip
        if base_cpu is None:
            base_cpu = cpu_ms
        target = TARGETS.get(kind or "")
        verdict = ""
        if target:
            verdict = "ok" if r["p50"] <= target[0] and r["p95"] <= target[1] else "MISS"
            verdict += f" (≤{target[0]:g}/{target[1]:g})"
        ratio = cpu_ms / base_cpu if base_cpu else float("nan")
        floor = "" if kind is None else ("ok" if ratio <= FLOOR_RATIO else "MISS")
        rows.append([
            *label, name, f"{r['rps']:.0f}", f"{r['p50']:.1f}", f"{r['p95']:.1f}",
            f"{r['p99']:.1f}", str(r["errors"]), f"{rss_mb(pids):.0f}", f"{cpu_ms:.2f}",
            f"{ratio:.2f}×", floor, verdict, db_ms,
        ])  # fmt: skip
    return rows


FLOOR_RATIO = 2.0  # issue 17: every uncached row within 2x the CPU per request of /healthz
HEAD = ["engine", "cache", "procs", "endpoint", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors",
        "RSS MB", "CPU ms/req", "CPU / baseline", "≤2× floor", "target p50/p95 ms",
        "PG CPU ms/req"]  # fmt: skip


def print_table(rows: list[list[str]], args: argparse.Namespace) -> None:
    full = [r for r in rows if len(r) == len(HEAD)]
    widths = [max(len(str(x[i])) for x in [HEAD, *full]) for i in range(len(HEAD))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    short = " (the issue asks 30 s; shortened to keep the run short)" if args.seconds < 30 else ""
    client = CLIENTS.get(args.client, args.client)
    print(f"web bench: {args.items:,} items, {args.events:,} events, {args.clients} clients, "
          f"{args.seconds:g} s per endpoint{short}; load generator: {client}; "
          f"CPU = user+system time of the server processes per request (PG CPU: of the "
          f"PostgreSQL processes serving them); load average "
          f"{args.load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(line(HEAD))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r) if len(r) == len(HEAD) else line(r[:4]) + "  " + r[4])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--drive":
        drive(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--seconds", type=float, default=30.0, help="per endpoint (the issue asks 30)")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--cache", choices=["both", "on", "off"], default="both",
                   help="run with the micro-cache on, off, or both (the default)")  # fmt: skip
    p.add_argument("--workers", default="1",
                   help="server processes, comma-separated runs (e.g. 1,2)")  # fmt: skip
    p.add_argument("--pg", default=os.environ.get("NEWSDESK_BENCH_PG_URL", ""),
                   help="a PostgreSQL URL whose public schema may be wiped")  # fmt: skip
    p.add_argument("--keep", default="",
                   help="a directory to keep the seeded desk in and reuse on the next run "
                        "(SQLite file and the name of the PostgreSQL schema)")  # fmt: skip
    p.add_argument("--engines", default="sqlite,postgresql", help="which engines to run")
    p.add_argument("--before", default="",
                   help="a checkout of earlier code (e.g. a git worktree): each row is measured "
                        "with its server first, on the same desk, then with ours")  # fmt: skip
    p.add_argument("--only", default="",
                   help="comma-separated words: run only the rows whose endpoint names one "
                        "(e.g. --only search), beside the /healthz baseline")  # fmt: skip
    args = p.parse_args()
    args.only = [w for w in args.only.split(",") if w]
    args.workers = [int(x) for x in args.workers.split(",") if x]
    # wrk runs whole seconds: rows shorter than one (the suite's smoke test) are driven by the
    # Python client in this process, which costs no process start per row
    args.client = load_generator() if args.seconds >= 1 else "here"
    args.load_start = os.getloadavg()[0]
    engines = args.engines.split(",")
    rows: list[list[str]] = []
    if "sqlite" in engines:
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            rows += run_engine("sqlite", f"sqlite:///{Path(args.keep).resolve()}/bench.db", args)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                rows += run_engine("sqlite", f"sqlite:///{tmp}/bench.db", args)
    if args.pg and "postgresql" in engines:
        kept = Path(args.keep) / "pg-schema" if args.keep else None
        if kept and kept.exists():
            schema = kept.read_text().strip()
            url = pg_url(args.pg, schema)
        else:
            url, schema = fresh_pg_schema(args.pg)
            if kept:
                kept.write_text(schema)
        try:
            rows += run_engine("postgresql", url, args)
        finally:
            if not kept:
                drop_pg_schema(args.pg, schema)
    print_table(rows, args)


def pg_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def fresh_pg_schema(url: str) -> tuple[str, str]:
    """A new empty schema for the run, so the bench never touches existing tables."""
    import psycopg

    schema = f"bench_{int(time.time())}_{os.getpid()}"  # two runs at once never share one
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return pg_url(url, schema), schema


def drop_pg_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()
