"""Reader apps that sync, per account, on both engines: newsboat itself (Debian's package, its
FeedHQ backend) signs in to the desk, lists the subscriptions, reads every stream through
/reader/atom/… and stores the stories, with the account's read state; and the calls other
clients make (stream/items/ids, stream/items/contents by POST, edit-tag, mark-all-as-read,
unread-count) keep each person's read and starred marks apart. The newsboat part skips when
newsboat is not installed (`make test` installs it where apt is available)."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_people import SECRET, cli
from test_web_reader import _seed

from newsdesk.config import load_settings
from newsdesk.web.app import create_app

READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
READING_LIST = "user/-/state/com.google/reading-list"


@pytest.fixture
def served(db):
    """The desk on a real port, with accounts ann and ed and three stories."""
    import uvicorn

    for name in ("ann", "ed"):
        assert cli(db, "users", "add", name, "--password-stdin", stdin=SECRET).exit_code == 0
    ids = _seed(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings(database_url=db.url, data_dir="/nonexistent")
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", ids
    server.should_exit = True
    thread.join(timeout=10)


def login(http, base: str, name: str) -> dict[str, str]:
    r = http.post(f"{base}/accounts/ClientLogin", data={"Email": name, "Passwd": SECRET})
    assert r.status_code == 200, r.text
    return {"Authorization": "GoogleLogin auth=" + r.text.split("Auth=")[1].strip()}


def test_the_calls_reader_apps_make_keep_marks_per_person(served) -> None:
    import httpx

    base, ids = served
    nova, hires = ids["Lab ships Nova-2"], ids["Lab hires a chief scientist"]
    with httpx.Client(timeout=30) as http:
        ann, ed = login(http, base, "ann"), login(http, base, "ed")
        token = http.get(f"{base}/reader/api/0/token", headers=ann).text
        everything = http.get(f"{base}/reader/api/0/stream/items/ids", headers=ann,
                              params={"s": READING_LIST, "n": 50}).json()  # fmt: skip
        assert {int(r["id"]) for r in everything["itemRefs"]} == set(ids.values())
        # NetNewsWire and Reeder fetch stories by id with a POST
        contents = http.post(f"{base}/reader/api/0/stream/items/contents", headers=ann,
                             data={"i": [str(nova), str(hires)]}).json()  # fmt: skip
        assert {i["title"] for i in contents["items"]} == {"Lab ships Nova-2",
                                                         "Lab hires a chief scientist"}  # fmt: skip
        star = http.post(f"{base}/reader/api/0/edit-tag", headers=ann,
                         data={"i": str(nova), "a": STARRED, "T": token})  # fmt: skip
        assert star.status_code == 200
        starred = http.get(f"{base}/reader/api/0/stream/items/ids", headers=ann,
                           params={"s": STARRED}).json()  # fmt: skip
        assert [int(r["id"]) for r in starred["itemRefs"]] == [nova]
        assert http.get(f"{base}/reader/api/0/stream/items/ids", headers=ed,
                        params={"s": STARRED}).json()["itemRefs"] == []  # fmt: skip

        def unread(headers: dict[str, str]) -> int:
            counts = http.get(f"{base}/reader/api/0/unread-count", headers=headers).json()
            return next(c["count"] for c in counts["unreadcounts"] if c["id"].endswith("all.xml"))

        assert unread(ann) == unread(ed) == 3
        bad = http.post(f"{base}/reader/api/0/mark-all-as-read", headers=ann,
                        data={"s": READING_LIST, "T": "forged"})  # fmt: skip
        assert bad.status_code == 401
        done = http.post(f"{base}/reader/api/0/mark-all-as-read", headers=ann,
                         data={"s": READING_LIST, "T": token})  # fmt: skip
        assert done.status_code == 200 and done.text == "OK"
        assert unread(ann) == 0 and unread(ed) == 3
        http.post(f"{base}/reader/api/0/edit-tag", headers=ann,
                  data={"i": str(hires), "r": READ, "T": token})  # fmt: skip
        assert unread(ann) == 1
        atom = http.get(f"{base}/reader/atom/{READING_LIST}", headers=ann, params={"n": 50})
        assert atom.headers["content-type"].startswith("application/atom+xml")
        assert atom.text.count("<entry") == 3 and atom.text.count(f'term="{READ}"') == 2
        assert http.get(f"{base}/reader/atom/{READING_LIST}").status_code == 401


@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed")
def test_newsboat_syncs_with_the_desk(served, tmp_path: Path) -> None:
    import httpx

    base, ids = served
    with httpx.Client(timeout=30) as http:  # ann has read one story in another app
        ann = login(http, base, "ann")
        token = http.get(f"{base}/reader/api/0/token", headers=ann).text
        hires = str(ids["Lab hires a chief scientist"])
        http.post(f"{base}/reader/api/0/edit-tag", headers=ann,
                  data={"i": hires, "a": READ, "T": token})  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    (home / "config").write_text(
        f'urls-source "feedhq"\nfeedhq-url "{base}"\n'  # no trailing slash, as its docs say
        f'feedhq-login "ann"\nfeedhq-password "{SECRET}"\n'
    )
    (home / "urls").write_text("")
    cache = home / "cache.db"
    done = subprocess.run(
        ["newsboat", "-C", str(home / "config"), "-u", str(home / "urls"), "-c", str(cache),
         "-x", "reload"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(cache) as conn:
        feeds = {title for (title,) in conn.execute("SELECT title FROM rss_feed")}
        stories = dict(conn.execute("SELECT title, unread FROM rss_item"))
    assert {"newsdesk: featured", "newsdesk: all stories", "newsdesk: #Reasoning"} <= feeds
    assert set(stories) == {"Lab ships Nova-2", "实验室发布 Nova-2", "Lab hires a chief scientist"}
    assert stories["Lab hires a chief scientist"] == 0 and stories["Lab ships Nova-2"] == 1
    assert datetime.now(UTC)
