"""Scale benchmark: the collect farm of bench/collect.py plus the fake model (fixed latency)
through `run_once`, one `newsdesk worker` and two, each on a fresh PostgreSQL database.

End to end: from the first fetch to the last story judged. Reported per mode: stories judged,
seconds, stories per second, CPU seconds of newsdesk's processes (parse workers included) and
of PostgreSQL's, CPU per story, and the jobs run. Then the ratios 2 workers / 1 worker and
1 worker / run_once, and what the queue costs per task: (CPU of 1 worker + its PostgreSQL CPU
- the same for run_once) / jobs. The fake model runs in its own process, the farm in another;
both share the machine's cores with what is measured (their CPU is not counted).

Model calls are not capped by NEWSDESK_LLM_CONCURRENCY here (256): that limit holds for the
whole fleet (lease rows in PostgreSQL), so at a lower one two workers could not have more calls
on the wire than one. The model-bound part (judging, after grouping) is then bound by the
latency and by how fast a process can prepare, check and store answers, which is what a second
worker adds. Grouping is not: it runs under one fleet-wide lock in every mode.

Run: .venv/bin/python bench/scale.py [--feeds 1000] [--latency 0.05] [--corpus DIR] [--pg URL]
[--poll SECONDS] (--poll: NEWSDESK_WORKER_POLL_SECONDS for the workers; the default is the
product's, 2 s; the smoke test uses less so its tiny run is not mostly waiting)
(--pg: a PostgreSQL server where the bench may make and drop databases named scale_bench_*;
default NEWSDESK_BENCH_PG_URL. Without one it says so and measures nothing.)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collect import CORPUS, corpus_files, farm_main, feed_urls

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("NEWSDESK_BENCH_PG_URL", "")
POLICY = ROOT / "src" / "newsdesk" / "policy" / "editorial.md"


@dataclass
class Mode:
    name: str
    stories: int
    seconds: float
    cpu: float  # newsdesk processes
    pg_cpu: float
    jobs: int
    grouped_at: float  # seconds from the start until no story waited to be grouped
    judging: float  # seconds from the first story judged to the last

    @property
    def rate(self) -> float:
        return self.stories / self.seconds if self.seconds else 0.0

    @property
    def judging_rate(self) -> float:
        return self.stories / self.judging if self.judging else 0.0


# Stories judged, not judgement rows: workers judge a story when its tick's reports are in and
# again when a later report changes its coverage (a re-judge the local pass, which groups every
# report before judging, does not need), so counting rows would credit the workers with work.
JUDGED = "SELECT count(*) FROM items WHERE judgement_id IS NOT NULL"


class Watch:
    """Samples one database while a mode runs (a thread, every 0.25 s): the CPU of the
    PostgreSQL backends serving it, and when grouping and judging were done.

    Only this database's backends are counted (its name is in their process title): other
    work on the same server (tests, other benches) is not the queue's cost. A backend's CPU is
    its last sample, so one that exits loses at most its last 0.25 s; the bench's own sampling
    connection is one of them (a few ms a sample)."""

    def __init__(self, url: str) -> None:
        self.url, self.name = url, url.rsplit("/", 1)[1]
        self.cpu: dict[int, float] = {}
        self.first_judged = self.all_judged = self.grouped_at = 0.0
        self.done = threading.Event()
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self.t0 = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    @property
    def pg_cpu(self) -> float:
        return sum(self.cpu.values())

    def _run(self) -> None:
        import psycopg

        tick = os.sysconf("SC_CLK_TCK")
        with psycopg.connect(self.url, autocommit=True) as conn:
            me = conn.info.backend_pid  # the sampler's own backend is not the desk's cost
            while True:
                stopping = self.done.is_set()  # one last sample after the mode ends
                for entry in Path("/proc").iterdir():
                    if not entry.name.isdigit():
                        continue
                    try:
                        title = (entry / "cmdline").read_bytes()
                        if not title.startswith(b"postgres") or self.name.encode() not in title:
                            continue
                        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    if int(entry.name) != me:
                        self.cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
                judged, ungrouped = conn.execute(JUDGED_UNGROUPED).fetchone()  # type: ignore[misc]
                now = time.monotonic() - self.t0
                if judged and not self.first_judged:
                    self.first_judged = now
                if judged and (judged != self.last_judged):
                    self.all_judged, self.last_judged = now, judged
                if ungrouped and not stopping:
                    self.grouped_at = now
                if stopping:
                    return
                self.done.wait(0.25)

    last_judged = 0


# the sampler's question: stories judged, and stories collected but not placed in an event
JUDGED_UNGROUPED = (
    "SELECT (SELECT count(*) FROM items WHERE judgement_id IS NOT NULL), "
    "(SELECT count(*) FROM items i LEFT JOIN event_members m ON m.item_id = i.id "
    "WHERE m.item_id IS NULL)"
)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    """A port nobody listens on (another fake model may be running on this machine)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fresh_database(server: str) -> str:
    import psycopg

    name = f"scale_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"


def drop_database(server: str, url: str) -> None:
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def count(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return int(conn.execute(sql).fetchone()[0])  # type: ignore[index]


def idle(url: str) -> bool:
    busy = count(url, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo','doing') "
                      "AND queue_name <> 'outputs'")  # fmt: skip
    waiting = count(url, "SELECT count(*) FROM items WHERE judgement_id IS NULL "
                         "AND judge_error IS NULL")  # fmt: skip
    ungrouped = count(url, "SELECT count(*) FROM items i LEFT JOIN event_members m "
                           "ON m.item_id = i.id WHERE m.item_id IS NULL")  # fmt: skip
    return busy == 0 and waiting == 0 and ungrouped == 0


def newsdesk(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "newsdesk", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def run_once_mode(env: dict[str, str]) -> Mode:
    url = env["NEWSDESK_DATABASE_URL"]
    newsdesk(env, "db", "upgrade")
    cpu0, t0 = children_cpu(), time.monotonic()
    with Watch(url) as watch:
        newsdesk(env, "run", "--once")
        seconds = time.monotonic() - t0
    return mode("run_once (one process)", url, seconds, children_cpu() - cpu0, watch, 0)


def workers_mode(env: dict[str, str], n: int, logs: Path) -> Mode:
    url = env["NEWSDESK_DATABASE_URL"]
    newsdesk(env, "db", "upgrade")
    cpu0, t0 = children_cpu(), time.monotonic()
    with Watch(url) as watch:
        # the catalog and the collect jobs before the workers start, rather than waiting for
        # the first tick's minute; a tick racing this upsert failed it on the sources' keys
        asyncio.run(defer_all(env))
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "newsdesk", "worker", "--concurrency", "16"],
                env=env,
                stdout=(logs / f"w{n}-{k}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for k in range(n)
        ]
        try:
            while not idle(url):  # the collect jobs are queued already: not idle until done
                time.sleep(0.5)
            seconds = time.monotonic() - t0
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=120)
    jobs = count(url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded' "
                      "AND task_name = 'newsdesk:step'")  # fmt: skip
    label = f"{n} worker process{'es' if n > 1 else ''}"
    return mode(label, url, seconds, children_cpu() - cpu0, watch, jobs)


def mode(label: str, url: str, seconds: float, cpu: float, watch: Watch, jobs: int) -> Mode:
    return Mode(label, count(url, JUDGED), seconds, cpu, watch.pg_cpu, jobs, watch.grouped_at,
                watch.all_judged - watch.first_judged)  # fmt: skip


async def defer_all(env: dict[str, str]) -> None:
    from datetime import UTC, datetime

    from newsdesk.config import load_settings
    from newsdesk.runner.app import catalog_for
    from newsdesk.runner.worker import defer, make_app
    from newsdesk.store import repo
    from newsdesk.store.db import Database

    settings = load_settings(database_url=env["NEWSDESK_DATABASE_URL"],
                             catalog=env["NEWSDESK_CATALOG"])  # fmt: skip
    db = Database(settings.effective_database_url)
    sources = catalog_for(settings, None)
    db.write_sync(lambda c: repo.upsert_sources(c, sources, datetime.now(UTC)))
    db.close()
    async with make_app(settings).open_async() as app:
        await defer(app, "collect", [s.id for s in sources])


def catalog_file(urls: list[str], tmp: Path) -> Path:
    lines = []
    for n, url in enumerate(urls):
        lines += [f'[[source]]\nid = "f{n}"\nname = "Feed {n}"\nurl = "{url}"\nkind = "rss"\n'
                  'group = "media"\nlanguage = "en"\ntier = "T2"\n']  # fmt: skip
    path = tmp / "farm.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def table(modes: list[Mode], notes: list[tuple[str, str]]) -> str:
    head = ("mode", "stories", "seconds", "stories/s", "CPU s", "PG CPU s", "CPU ms/story", "jobs",
            "all grouped at s", "judging stories/s")  # fmt: skip
    rows = [
        (m.name, str(m.stories), f"{m.seconds:.1f}", f"{m.rate:.2f}", f"{m.cpu:.1f}",
         f"{m.pg_cpu:.1f}", f"{1000 * (m.cpu + m.pg_cpu) / max(m.stories, 1):.1f}", str(m.jobs),
         f"{m.grouped_at:.1f}", f"{m.judging_rate:.2f}")
        for m in modes
    ] + [(label, "", "", value, "", "", "", "", "", "") for label, value in notes]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="fake model seconds/answer")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder of feed files")
    parser.add_argument("--pg", default=PG, help="PostgreSQL URL (databases made and dropped)")
    parser.add_argument("--poll", type=float, default=2.0, help="workers' poll, seconds")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="workers' wait before judging, seconds (shipped: 10)")  # fmt: skip
    args = parser.parse_args()
    if not args.pg:
        print("scale benchmark: needs PostgreSQL (--pg URL or NEWSDESK_BENCH_PG_URL); not run")
        return
    args.port = free_port()
    load_before = os.getloadavg()[0]
    # a stopped run still stops its farm, fake model and workers (the finally blocks run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not corpus_files(args.corpus):
        sys.exit(f"{args.corpus} has no feed files: the farm is built from them")
    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    farm = multiprocessing.Process(target=farm_main, args=(args.feeds, ready, args.corpus),
                                   daemon=True)  # fmt: skip
    farm.start()
    fake = subprocess.Popen([sys.executable, "-m", "newsdesk", "dev", "fake-llm", "--port",
                             str(args.port), "--latency", str(args.latency)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    modes: list[Mode] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            urls = feed_urls(ready.get(timeout=60), args.feeds)
            catalog = catalog_file(urls, tmp)
            policy = tmp / "editorial.md"  # the corpus spans years: first imports keep them
            policy.write_text(POLICY.read_text(encoding="utf-8").replace(
                "first_import_window_days = 365", "first_import_window_days = 100000"))  # fmt: skip
            time.sleep(2)
            base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
            for mode in ("run_once", 1, 2):
                url = fresh_database(args.pg)
                env = base | {
                    "NEWSDESK_DATABASE_URL": url, "NEWSDESK_CATALOG": str(catalog),
                    "NEWSDESK_POLICY_PATH": str(policy), "NEWSDESK_ALLOW_PRIVATE_URLS": "true",
                    "NEWSDESK_FULLTEXT_ENABLED": "false", "NEWSDESK_FETCH_TIMEOUT_SECONDS": "5",
                    "NEWSDESK_LLM_BASE_URL": f"http://127.0.0.1:{args.port}/v1",
                    "NEWSDESK_LLM_MODEL": "fake-editor", "NEWSDESK_LLM_CONCURRENCY": "256",
                    "NEWSDESK_CONCURRENCY": "48",
                    "NEWSDESK_WORKER_POLL_SECONDS": str(args.poll),
                    "NEWSDESK_WORKER_SETTLE_SECONDS": str(args.settle),
                }  # fmt: skip
                try:
                    if mode == "run_once":
                        modes.append(run_once_mode(env))
                    else:
                        modes.append(workers_mode(env, int(mode), tmp))
                finally:
                    drop_database(args.pg, url)
        finally:
            fake.terminate()
            farm.terminate()
            fake.wait()
    once, one, two = modes
    queue_ms = 1000 * ((one.cpu + one.pg_cpu) - (once.cpu + once.pg_cpu)) / max(one.jobs, 1)
    notes = [
        ("ratio stories/s, 2 workers / 1 worker (target >= 1.7)", f"{two.rate / one.rate:.2f}x"),
        ("ratio stories/s, 1 worker / run_once (target >= 0.9)", f"{one.rate / once.rate:.2f}x"),
        ("ratio judging stories/s, 2 workers / 1 worker (the model-bound part)",
         f"{two.judging_rate / max(one.judging_rate, 1e-9):.2f}x"),
        ("queue cost per job, CPU ms (1 worker - run_once, with PostgreSQL)", f"{queue_ms:.1f}"),
        ("... of it worker CPU ms / PostgreSQL CPU ms",
         f"{1000 * (one.cpu - once.cpu) / max(one.jobs, 1):.1f} / "
         f"{1000 * (one.pg_cpu - once.pg_cpu) / max(one.jobs, 1):.1f}"),
    ]  # fmt: skip
    print(
        f"scale benchmark: {args.feeds} feeds (bench/collect.py farm), fake model "
        f"{args.latency * 1000:.0f} ms per answer, workers' settle {args.settle:g} s, "
        f"{os.cpu_count()} cores, load average "
        f"{load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
    )
    print(table(modes, notes))


if __name__ == "__main__":
    main()
