"""Parse + normalise in worker processes (runner/cpu.py): same items as in-process, errors
as codes, and a dead worker costs one source at most, never the run."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from newsdesk.domain import Source
from newsdesk.normalize import FreshnessRules
from newsdesk.runner.cpu import CpuPool, digest_body

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
LAB = Source(id="lab", name="Example Lab", url="https://lab.example.com/feed")


def big_feed(n: int = 40) -> bytes:
    entries = "".join(
        f"<item><title>Model {i} &amp; friends</title><link>/posts/{i}?utm_source=rss</link>"
        f"<guid>post-{i}</guid><pubDate>Tue, 04 Mar 2025 0{i % 10}:00:00 GMT</pubDate>"
        f"<description><![CDATA[<p onclick='x()'>Release {i} of the model, with "
        f"<a href='/docs/{i}'>docs</a>.<script>steal()</script></p>]]></description></item>"
        for i in range(n)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Lab</title>'
        f"<link>https://lab.example.com/</link><ttl>90</ttl>{entries}</channel></rss>"
    ).encode()


async def test_worker_items_equal_in_process_items() -> None:
    body = big_feed()
    in_process = await digest_body(CpuPool(), LAB, body, LAB.url, NOW, FreshnessRules(), False)
    async with CpuPool(workers=2) as pool:
        assert await pool.run(os.getpid) != os.getpid()  # jobs leave this process
        shipped = await digest_body(pool, LAB, body, LAB.url, NOW, FreshnessRules(), False)
    assert shipped.items == in_process.items and shipped.entries == 40
    assert shipped.ttl_minutes == 90
    first = shipped.items[0]
    # sanitised, resolved and identified in the worker exactly as before
    assert "script" not in first.body_html and "onclick" not in first.body_html
    assert 'href="https://lab.example.com/docs/0"' in first.body_html
    assert first.identity_key == "url:https://lab.example.com/posts/0"
    assert first.title == "Model 0 & friends"


async def test_first_import_cap_holds_in_the_worker() -> None:
    async with CpuPool(workers=1) as pool:
        digest = await digest_body(
            pool, LAB, big_feed(), LAB.url, NOW, FreshnessRules(first_import_max_items=5), True
        )
    assert len(digest.items) == 5 and all(i.backfill for i in digest.items)


async def test_not_a_feed_comes_back_as_an_error_code() -> None:
    page = b"<html><body>" + b"<p>just a page</p>" * 500 + b"</body></html>"
    async with CpuPool(workers=1) as pool:
        digest = await digest_body(pool, LAB, page, LAB.url, NOW, FreshnessRules(), False)
    assert digest.error_code == "not_a_feed" and digest.items == []


async def test_a_dead_worker_is_replaced() -> None:
    async with CpuPool(workers=1) as pool:
        with pytest.raises(Exception, match="terminated abruptly"):
            await pool.run(os._exit, 1)  # dies in the first pool and again in the fresh one
        assert await pool.run(os.getpid) != os.getpid()  # later jobs still run
        digest = await digest_body(pool, LAB, big_feed(), LAB.url, NOW, FreshnessRules(), False)
    assert len(digest.items) == 40


# Run as its own process: a process has one forkserver, and the first pool of this test
# process may have started it without the model.
WORKER_START = r"""
import asyncio, json, time
from newsdesk.runner.cpu import CpuPool

def probe():
    started = time.process_time()  # this worker's CPU since it was forked: its start-up
    import newsdesk.embed.local as local
    local.embed_texts(["a first batch"])
    return {"start_cpu": started, "embed_cpu": time.process_time() - started}

async def main():
    async with CpuPool(workers=1, warm_embedder=True) as pool:
        print(json.dumps(await pool.run(probe)))

import newsdesk.cli  # as the `newsdesk` command has
if __name__ == "__main__":
    asyncio.run(main())
"""


def test_workers_start_with_the_cli_and_the_embedding_model_loaded(tmp_path) -> None:
    """A worker of the `newsdesk` command neither imports the CLI again nor loads the
    embedding model on its first batch (each cost ~0.65 s and ~1.5 s of CPU per worker)."""
    import json
    import subprocess
    import sys

    script = tmp_path / "main.py"  # a main script, as the console script is one
    script.write_text(WORKER_START)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["start_cpu"] < 0.1, found  # importing the CLI again took 0.3-0.65 s
    assert found["embed_cpu"] < 0.2, found  # loading the model took 0.75-1.5 s
