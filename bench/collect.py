"""Collect benchmark: a local farm of 1,000+ feeds built from ../shared/corpus at run time.

The farm (a separate process, so client CPU is measured alone) serves every corpus feed many
times over 40 loopback addresses, with 50–500 ms latency per answer, 5% failures (half HTTP
500, half answers that never come) and conditional GET (even feeds by ETag, odd ones by
Last-Modified only; a matching validator gets 304). It counts the bytes it
sends, so every client's "bytes received" is measured the same way.

Clients, each polling twice (a first poll, then an unchanged second poll):
  newsdesk   the runner's collect path: collect.http.Fetcher (per-host limit, timeouts,
             conditional GET) on the event loop → runner.cpu.digest_body (parse + normalise
             in a process pool sized to the cores)
  baseline   what small aggregators do: a sequential loop of requests.get + feedparser.parse
             (no conditional GET); run on the first BASELINE_FEEDS feeds to keep the run short,
             compared by rate
  newsboat   Debian's newsboat reloading the same sample URL list, when it is installed

Run: .venv/bin/python bench/collect.py [--feeds 1000] [--baseline-feeds 100]
     [--corpus ../shared/corpus]   (any folder of feed files; the suite's smoke test serves
                                    the demo feeds to a handful of feeds)
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import multiprocessing
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
HOSTS = [f"127.0.0.{n}" for n in range(2, 42)]
CLIENT_TIMEOUT = 5.0  # every client gives up on a feed after this many seconds
HANG_SECONDS = 30.0  # a "timeout" feed answers after this long (never, for the clients)
LAST_MODIFIED = "Wed, 01 Oct 2025 08:00:00 GMT"


def corpus_files(folder: Path = CORPUS) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in {".xml", ".rss", ".atom", ".rdf"}
        and "kurtmckee+feedparser" not in p.parts
        and "FirstEntry" not in p.name
    )


def busy_note(load_before: str) -> str:
    """Wall times only mean something on an idle machine: say so when it was not."""
    if float(load_before) < 1.0:
        return ""
    return f" (other work shares these {os.cpu_count()} cores: wall times are distorted)"


# --- the farm ------------------------------------------------------------------------------


def farm_main(n_feeds: int, ready: multiprocessing.Queue, folder: Path, seed: int = 7) -> None:  # type: ignore[type-arg]
    files = corpus_files(folder)
    bodies = [f.read_bytes() for f in files]
    gzipped = [gzip.compress(b, 5) for b in bodies]
    etags = [f'"{hashlib.sha1(b).hexdigest()[:16]}"' for b in bodies]
    rng = random.Random(seed)
    plan = []  # per feed: (body index, latency s, behaviour)
    for i in range(n_feeds):
        roll = rng.random()
        behaviour = "error" if roll < 0.025 else "hang" if roll < 0.05 else "ok"
        plan.append((i % len(bodies), rng.uniform(0.05, 0.5), behaviour))
    stats = {"bytes": 0, "requests": 0, "not_modified": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                if path == "/__stats":
                    body = json.dumps(stats).encode()
                    for key in stats:
                        stats[key] = 0
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))  # fmt: skip
                    await writer.drain()
                    continue
                feed = int(path.rsplit("/", 1)[-1].split(".")[0])
                index, latency, behaviour = plan[feed]
                await asyncio.sleep(latency)
                stats["requests"] += 1
                if behaviour == "hang":
                    await asyncio.sleep(HANG_SECONDS)
                    break
                extra = ""
                if behaviour == "error":
                    status, body = "500 Internal Server Error", b"upstream error"
                elif (headers.get("if-none-match") == etags[index] if feed % 2 == 0
                      else headers.get("if-modified-since") == LAST_MODIFIED):  # fmt: skip
                    status, body = "304 Not Modified", b""
                    stats["not_modified"] += 1
                elif "gzip" in headers.get("accept-encoding", ""):
                    status, body, extra = "200 OK", gzipped[index], "Content-Encoding: gzip\r\n"
                else:
                    status, body = "200 OK", bodies[index]
                # even feeds validate by ETag, odd ones only by Last-Modified
                validator = (f"ETag: {etags[index]}" if feed % 2 == 0
                             else f"Last-Modified: {LAST_MODIFIED}")  # fmt: skip
                response = (
                    f"HTTP/1.1 {status}\r\nContent-Type: application/xml\r\n"
                    f"{validator}\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                stats["bytes"] += len(response)
                writer.write(response)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        servers = [await asyncio.start_server(handle, host, 0, backlog=1024) for host in HOSTS]
        ready.put([(h, s.sockets[0].getsockname()[1]) for h, s in zip(HOSTS, servers, strict=True)])
        await asyncio.Event().wait()

    asyncio.run(serve())


def feed_urls(ports: list[tuple[str, int]], n_feeds: int) -> list[str]:
    return [f"http://{ports[i % len(ports)][0]}:{ports[i % len(ports)][1]}/f/{i}.xml"
            for i in range(n_feeds)]  # fmt: skip


def farm_stats(ports: list[tuple[str, int]]) -> dict[str, int]:
    host, port = ports[0]
    with urllib.request.urlopen(f"http://{host}:{port}/__stats", timeout=10) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


# --- clients -------------------------------------------------------------------------------


@dataclass
class Poll:
    client: str
    poll: str
    feeds: int
    ok: int
    seconds: float
    items: int
    bytes: int
    cpu: float


async def newsdesk_poll(
    urls: list[str], validators: dict[str, tuple[str | None, str | None]], concurrency: int
) -> tuple[int, int, float]:
    """The runner's collect path: fetches on the loop, parse + normalise in the process pool,
    and the validators of every answered feed sent back on the next poll (as the runner
    stores them in `sources.etag` / `sources.last_modified`)."""
    from newsdesk.collect.http import Fetcher
    from newsdesk.domain import Source
    from newsdesk.normalize import FreshnessRules
    from newsdesk.runner.cpu import WAITING_PER_WORKER, CpuPool, digest_body

    ok = items = 0
    rules = FreshnessRules()
    async with (
        Fetcher(allow_private=True, total_timeout=CLIENT_TIMEOUT,
                read_timeout=CLIENT_TIMEOUT) as fetcher,
        CpuPool() as pool,
    ):  # fmt: skip
        # as runner/local.py: fetch slots, and a few more sources per worker waiting for CPU
        fetch_slots = asyncio.Semaphore(concurrency)
        in_flight = asyncio.Semaphore(concurrency + WAITING_PER_WORKER * pool.workers)

        async def one(n: int, url: str) -> None:
            async with in_flight:
                await collect(n, url)

        async def collect(n: int, url: str) -> None:
            nonlocal ok, items
            etag, last_modified = validators.get(url, (None, None))
            async with fetch_slots:
                result = await fetcher.fetch(url, etag=etag, last_modified=last_modified)
            if not result.ok:
                return
            ok += 1
            if result.not_modified:
                return
            source = Source(id=f"feed-{n}", name=url, url=url)
            found = await digest_body(
                pool, source, result.body, url, datetime.now(UTC), rules, first_import=False
            )
            if found.error_code:
                return
            # as record_fetch: validators are kept once the body was read and parsed
            validators[url] = (result.etag, result.last_modified)
            items += len(found.items)

        await asyncio.gather(*(one(n, u) for n, u in enumerate(urls)))
        # the workers are the forkserver's children, not ours: read their CPU before they go
        workers_cpu = sum(process_cpu(pid) for pid in pool.worker_pids())
    return ok, items, workers_cpu


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline_poll(urls: list[str]) -> tuple[int, int]:
    import feedparser
    import requests

    ok = items = 0
    for url in urls:
        try:
            answer = requests.get(url, timeout=CLIENT_TIMEOUT)
            answer.raise_for_status()
        except requests.RequestException:
            continue
        ok += 1
        items += len(feedparser.parse(answer.content).entries)
    return ok, items


def newsboat_poll(urls_file: Path, cache: Path, config: Path) -> tuple[int, int]:
    subprocess.run(
        ["newsboat", "-u", str(urls_file), "-c", str(cache), "-C", str(config), "-x", "reload"],
        capture_output=True, timeout=3600, check=False,
    )  # fmt: skip
    with sqlite3.connect(cache) as conn:
        items = conn.execute("select count(*) from rss_item").fetchone()[0]
        feeds = conn.execute("select count(*) from rss_feed where title != ''").fetchone()[0]
    return int(feeds), int(items)


def timed(client: str, poll: str, feeds: int, ports, fn, children: bool = False) -> Poll:  # type: ignore[no-untyped-def]
    farm_stats(ports)  # reset the counters
    usage = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    before = resource.getrusage(usage)
    started = time.perf_counter()
    ok, items, *elsewhere = fn()  # elsewhere: CPU seconds of processes rusage cannot see
    seconds = time.perf_counter() - started
    after = resource.getrusage(usage)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) + sum(elsewhere)
    return Poll(client, poll, feeds, ok, seconds, items, farm_stats(ports)["bytes"], cpu)


def table(rows: list[Poll], notes: list[tuple[str, str]]) -> str:
    head = ("client", "poll", "feeds", "ok", "wall s", "feeds/s", "items", "items/s", "bytes recv",
            "CPU s/1k items")  # fmt: skip
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        per_k = f"{r.cpu / r.items * 1000:.2f}" if r.items else "-"
        out.append(
            f"| {r.client} | {r.poll} | {r.feeds} | {r.ok} | {r.seconds:.1f} | "
            f"{r.feeds / r.seconds:.1f} | {r.items} | {r.items / r.seconds:.0f} | {r.bytes:,} | "
            f"{per_k} |"
        )
    for label, value in notes:
        out.append(f"| {label} | | | | | {value} | | | | |")
    return "\n".join(out)


def main() -> None:
    from newsdesk.runner.cpu import pool_size

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--baseline-feeds", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder of feed files")
    args = parser.parse_args()
    files = corpus_files(args.corpus)
    if not files:
        sys.exit(f"no feed files in {args.corpus}: the farm is built from them")
    load_before = f"{os.getloadavg()[0]:.2f}"
    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    farm = multiprocessing.Process(
        target=farm_main, args=(args.feeds, ready, args.corpus), daemon=True
    )
    farm.start()
    try:
        ports = ready.get(timeout=60)
        urls = feed_urls(ports, args.feeds)
        sample = urls[: args.baseline_feeds]
        validators: dict[str, tuple[str | None, str | None]] = {}
        rows: list[Poll] = []
        for poll in ("first", "second"):
            rows.append(timed("newsdesk", poll, len(urls), ports, lambda: asyncio.run(
                newsdesk_poll(urls, validators, args.concurrency))))  # fmt: skip
        for poll in ("first", "second"):
            rows.append(timed("requests+feedparser, sequential", poll, len(sample), ports,
                              lambda: baseline_poll(sample)))  # fmt: skip
        if shutil.which("newsboat"):
            with tempfile.TemporaryDirectory() as tmp:
                urls_file, cache, config = (Path(tmp) / n for n in ("urls", "cache.db", "config"))
                urls_file.write_text("\n".join(sample) + "\n")
                config.write_text(f"download-timeout {int(CLIENT_TIMEOUT)}\n")
                for poll in ("first", "second"):
                    rows.append(timed("newsboat (reload-threads 1)", poll, len(sample), ports,
                                      lambda: newsboat_poll(urls_file, cache, config),
                                      children=True))  # fmt: skip
        ours, base = rows[0], rows[2]
        notes = [
            ("ratio feeds/s, first poll: newsdesk / sequential baseline",
             f"{(ours.feeds / ours.seconds) / (base.feeds / base.seconds):.1f}x"),
            ("newsdesk second-poll bytes / first-poll bytes",
             f"{rows[1].bytes / ours.bytes:.1%}"),
        ]  # fmt: skip
        print(f"collect benchmark: {args.feeds} feeds from {len(files)} files of {args.corpus} on "
              f"{len(HOSTS)} hosts, 50-500 ms latency, 5% failures, client timeout "
              f"{CLIENT_TIMEOUT:.0f} s, newsdesk concurrency {args.concurrency}, "
              f"{pool_size()} parse workers; load average {load_before} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end{busy_note(load_before)}")  # fmt: skip
        print(table(rows, notes))
    finally:
        farm.terminate()
        farm.join(5)


if __name__ == "__main__":
    main()
