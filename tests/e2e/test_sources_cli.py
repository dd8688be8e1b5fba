"""`newsdesk sources …` as a user runs it, against a local feed server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import Route
from e2e.conftest import clean_env, newsdesk

SITE = b"""<!doctype html><html><head><title>Lab</title>
<link rel="alternate" type="application/rss+xml" title="Lab feed" href="/feed.xml">
</head><body>Welcome</body></html>"""
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Example Lab</title>
<item><title>Nova-2 ships</title><link>https://lab.example.com/nova-2</link>
<pubDate>Fri, 31 Jan 2025 11:00:00 GMT</pubDate></item></channel></rss>"""


def test_sources_commands(tmp_path: Path, server) -> None:
    server.add("/feed.xml", Route(FEED))
    site = server.add("/", Route(SITE))
    env = clean_env(tmp_path, NEWSDESK_ALLOW_PRIVATE_URLS="true")

    tested = newsdesk(["sources", "test", site], env, tmp_path)
    assert tested.returncode == 0, tested.stderr
    assert "found feed" in tested.stdout and "Nova-2 ships" in tested.stdout
    bad = newsdesk(["sources", "test", server.base + "/missing"], env, tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: http_4xx")
    assert "Traceback" not in bad.stderr

    added = newsdesk(["sources", "add", site, "--tier", "T1", "--group", "vendor-official"],
                     env, tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added example-lab" in added.stdout
    push = newsdesk(["sources", "add", "https://partner.example.com/", "--kind", "push",
                     "--name", "Partner"], env, tmp_path)  # fmt: skip
    assert push.returncode == 0 and "push token" in push.stdout

    listed = newsdesk(["sources", "list", "--json"], env, tmp_path)
    rows = {r["id"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert rows["example-lab"]["url"] == server.base + "/feed.xml"
    assert rows["example-lab"]["tier"] == "T1" and rows["example-lab"]["status"] == "new"
    assert {"last_error_code", "items_7d", "next_poll_at", "consecutive_failures"} <= set(
        rows["partner"]
    )

    assert newsdesk(["sources", "disable", "example-lab"], env, tmp_path).returncode == 0
    listed = newsdesk(["sources", "list", "--json"], env, tmp_path)
    assert not json.loads(listed.stdout.splitlines()[0])["enabled"]
    exported = newsdesk(["sources", "export", "--opml"], env, tmp_path)
    assert 'xmlUrl="' + server.base + '/feed.xml"' in exported.stdout
    assert "partner.example.com" not in exported.stdout  # push sources have no feed
    assert newsdesk(["sources", "remove", "partner"], env, tmp_path).returncode == 0
    table = newsdesk(["sources", "list"], env, tmp_path)
    assert "example-lab" in table.stdout and "partner" not in table.stdout
    missing = newsdesk(["sources", "enable", "nope"], env, tmp_path)
    assert missing.returncode == 2 and "no source 'nope'" in missing.stderr

    opml = tmp_path / "subs.opml"
    opml.write_text(exported.stdout)
    imported = newsdesk(["sources", "import", str(opml)], env, tmp_path)
    assert imported.returncode == 0 and "0 added, 1 already followed" in imported.stdout
    for command in (["sources", "--help"], ["sources", "list", "--help"]):
        assert newsdesk(command, env, tmp_path).returncode == 0


def test_sources_list_after_a_run_with_a_failing_source(tmp_path: Path, server) -> None:
    recent = datetime.now(UTC) - timedelta(hours=3)
    server.add("/feed.json", Route(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "JSON Lab",
        "items": [{"id": "1", "url": "https://json-lab.example.com/1", "title": "Nova-3 ships",
                   "content_text": "Nova-3 ships today.", "date_published": recent.isoformat()}],
    }).encode(), headers={"Content-Type": "application/feed+json"}))  # fmt: skip
    server.add("/down.xml", Route(b"upstream is down", status=503))
    catalog = tmp_path / "catalog.toml"
    catalog.write_text("".join(
        f'[[source]]\nid = "{id_}"\nname = "{id_}"\nurl = "{server.base}{path}"\n'
        'kind = "rss"\ngroup = "media"\nlanguage = "en"\ntier = "T2"\n\n'
        for id_, path in (("json-lab", "/feed.json"), ("down-lab", "/down.xml"))
    ))  # fmt: skip
    env = clean_env(tmp_path, NEWSDESK_ALLOW_PRIVATE_URLS="true", NEWSDESK_CATALOG=str(catalog),
                    NEWSDESK_FULLTEXT_ENABLED="false", COLUMNS="140")  # fmt: skip
    ran = newsdesk(["run", "--once"], env, tmp_path)
    assert ran.returncode == 0, ran.stderr

    table = newsdesk(["sources", "list"], env, tmp_path).stdout
    down = next(line for line in table.splitlines() if line.strip().startswith("down-lab "))
    assert "error" in down and "http_5xx" in down
    assert f"down-lab: http_5xx: HTTP 503 from {server.base}/down.xml" in table
    good = next(line for line in table.splitlines() if line.strip().startswith("json-lab "))
    assert " ok " in good and "never" not in good
    rows = {r["id"]: r for r in map(json.loads, newsdesk(
        ["sources", "list", "--json"], env, tmp_path).stdout.splitlines())}  # fmt: skip
    assert rows["json-lab"]["items_total"] == 1 and rows["down-lab"]["consecutive_failures"] == 1
