"""Reader-app compatibility: a Google Reader API client written from the protocol, and OPML."""

from __future__ import annotations

from xml.etree import ElementTree

import feedparser
from sqlalchemy import update

from newsdesk.store import schema as t

READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
READING_LIST = "user/-/state/com.google/reading-list"


class ReaderClient:
    """What NetNewsWire and Reeder do, step by step: ClientLogin, then GoogleLogin auth."""

    def __init__(self, http) -> None:
        self.http = http
        self.auth = ""

    def login(self, user: str, password: str) -> int:
        answer = self.http.post("/accounts/ClientLogin", data={"Email": user, "Passwd": password})
        if answer.status_code == 200:
            fields = dict(line.split("=", 1) for line in answer.text.splitlines() if line)
            self.auth = fields["Auth"]
        return answer.status_code

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"GoogleLogin auth={self.auth}"}

    def get(self, path: str, **params):
        return self.http.get("/reader/api/0" + path, params=params, headers=self.headers)

    def token(self) -> str:
        return self.get("/token").text

    def subscriptions(self) -> list[dict]:
        return self.get("/subscription/list", output="json").json()["subscriptions"]

    def stream(self, stream_id: str, **params) -> dict:
        return self.get(f"/stream/contents/{stream_id}", output="json", **params).json()

    def ids(self, stream_id: str, **params) -> list[int]:
        refs = self.get("/stream/items/ids", s=stream_id, output="json", **params).json()
        return [int(r["id"]) for r in refs["itemRefs"]]

    def contents(self, ids: list[int]) -> list[dict]:
        answer = self.http.post(
            "/reader/api/0/stream/items/contents", data={"i": [str(i) for i in ids]},
            headers=self.headers,
        )  # fmt: skip
        return answer.json()["items"]

    def edit(self, ids: list[str], add: str | None = None, remove: str | None = None, token=None):
        data: dict = {"i": ids, "T": token if token is not None else self.token()}
        if add:
            data["a"] = add
        if remove:
            data["r"] = remove
        return self.http.post("/reader/api/0/edit-tag", data=data, headers=self.headers)


def test_reader_api_end_to_end(client_for, desk) -> None:
    app = ReaderClient(client_for(reader_password="pw"))
    assert app.login("reader", "wrong") == 401
    assert app.get("/subscription/list").status_code == 401
    assert app.login("reader", "pw") == 200

    assert app.get("/user-info").json()["userName"] == "reader"
    subs = app.subscriptions()
    urls = {s["url"] for s in subs}
    assert {"http://desk.test/feed.xml", "http://desk.test/feed/p1.xml",
            "http://desk.test/feed/all.xml"} <= urls  # fmt: skip
    assert any(s["url"].startswith("http://desk.test/feed/tag/") for s in subs)
    featured = next(s for s in subs if s["url"].endswith("/feed.xml"))

    page = app.stream(featured["id"], n=5)
    assert len(page["items"]) == 5 and page["continuation"]
    first = page["items"][0]
    assert first["id"].startswith("tag:google.com,2005:reader/item/")
    assert READING_LIST in first["categories"] and READ not in first["categories"]
    assert first["alternate"][0]["href"].startswith("http")
    more = app.stream(featured["id"], n=5, c=page["continuation"])
    assert {i["id"] for i in more["items"]}.isdisjoint({i["id"] for i in page["items"]})

    # p1 stream only has p1 stories; nothing excluded is ever in the reading list.
    p1 = app.stream(next(s["id"] for s in subs if s["url"].endswith("/p1.xml")), n=50)
    with desk.read() as conn:
        tiers = dict(
            conn.execute(t.items.select().with_only_columns(t.items.c.id, t.items.c.tier)).all()
        )
    assert {tiers[int(i["id"].rsplit("/", 1)[1], 16)] for i in p1["items"]} == {"p1"}
    every = app.ids(READING_LIST, n=1000)
    assert every and all(tiers[i] != "excluded" for i in every)

    # Mark read and starred, with the edit token; short ids work as well as long ones.
    assert app.edit([first["id"]], add=READ, token="bad").status_code == 401
    short = str(int(first["id"].rsplit("/", 1)[1], 16))
    assert app.edit([first["id"]], add=READ).text == "OK"
    assert app.edit([short], add=STARRED).text == "OK"
    (again,) = app.contents([int(short)])
    assert READ in again["categories"] and STARRED in again["categories"]
    assert app.ids(STARRED) == [int(short)]
    unread = app.ids(featured["id"], n=1000, xt=READ)
    assert int(short) not in unread and len(unread) == len(app.ids(featured["id"], n=1000)) - 1
    counts = {c["id"]: c["count"] for c in app.get("/unread-count").json()["unreadcounts"]}
    assert counts[featured["id"]] == len(unread)
    assert app.edit([short], remove=READ).text == "OK"
    assert int(short) in app.ids(featured["id"], n=1000, xt=READ)

    # Re-judging a story keeps its reader id and marks.
    desk.write_sync(
        lambda c: c.execute(update(t.items).where(t.items.c.id == int(short)).values(importance=1))
    )
    assert app.ids(STARRED) == [int(short)]


def test_reader_api_off_without_password_and_opml(client_for) -> None:
    http = client_for()
    assert ReaderClient(http).login("reader", "") == 404
    opml = http.get("/subscriptions.opml")
    assert opml.headers["content-type"].startswith("text/x-opml")
    root = ElementTree.fromstring(opml.content)
    assert root.tag == "opml" and root.get("version") == "2.0"
    feeds = [o.get("xmlUrl") for o in root.iter("outline") if o.get("type") == "rss"]
    assert "http://desk.test/feed.xml" in feeds and "http://desk.test/feed/p1.xml" in feeds
    # Every subscription is a feed this desk really serves, and it parses.
    for url in feeds[:5]:
        parsed = feedparser.parse(http.get(url.removeprefix("http://desk.test")).content)
        assert parsed.bozo is False and parsed.version == "rss20"
