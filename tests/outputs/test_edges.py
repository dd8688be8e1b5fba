"""Input at the edges, on the demo desk and each engine: ids no row can have, control
characters on their way into XML, NUL characters, forged cursors, and HEAD."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from lxml import etree

ID_PATHS = (
    "/api/v1/items/{}",
    "/api/v1/events/{}",
    "/items/{}",
    "/events/{}",
    "/events/{}.md",
)
# Past PostgreSQL's integer, past both engines' 64-bit integers, and below them.
HUGE = (2**31, 2**63 - 1, 2**63, 2**64 + 7, -(2**63) - 1)


# One desk per test is the cost here, so each test checks a family of edges.
def test_ids_no_row_can_have_are_not_found_and_forged_cursors_refused(client_for: Any) -> None:
    client = client_for()
    for number in HUGE:
        for path in ID_PATHS:
            answer = client.get(path.format(number))
            assert answer.status_code == 404, (path, number, answer.text[:200])
        members = client.get(f"/items/{number}/members")
        assert members.status_code == 200 and "<li" not in members.text
    _forged_cursors_are_refused(client)


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _forged_cursors_are_refused(client: Any) -> None:
    forged = [
        _cursor(f"2025-01-01T00:00:00+00:00|{2**63}"),  # an id past every integer column
        _cursor("0001-01-01T00:00:00|1"),  # no offset: not one this desk wrote
        _cursor("0001-01-01T00:00:00+05:00|1"),  # before year 1 once in UTC
    ]
    for cursor in forged:
        for path, query in (("/api/v1/items", {}), ("/api/v1/search", {"q": "model"})):
            answer = client.get(path, params={**query, "cursor": cursor})
            assert answer.status_code == 400 and "cursor" in answer.json()["error"], path
        assert client.get("/", params={"cursor": cursor}).status_code == 400
    for key in (json.dumps(["heat", "NaN", 1]), json.dumps(["heat", "1.0", 2**63]),
                json.dumps(["newest", "2025-01-01T00:00:00", True])):  # fmt: skip
        order = json.loads(key)[0]
        answer = client.get("/api/v1/events", params={"order": order, "cursor": _cursor(key)})
        assert answer.status_code == 400 and "cursor" in answer.json()["error"], key


def test_control_characters_make_well_formed_feeds_and_nul_is_refused(client_for: Any) -> None:
    client = client_for()
    tag = "Agent\x01\x0b\x1f\x7f\ufffe"
    rss = client.get(f"/feed/tag/{quote(tag)}.xml")
    assert rss.status_code == 200
    channel = etree.fromstring(rss.content).find("channel")
    assert channel.findtext("title") == "newsdesk: #Agent\x7f"  # DEL is legal XML 1.0
    feed = client.get(f"/feed/tag/{quote(tag)}.json")
    assert feed.status_code == 200 and feed.json()["title"] == f"newsdesk: #{tag}"
    for path in ("/feed/tag/%00.xml", "/tags/a%00b", "/?tag=%00", "/api/v1/items?source=x%00",
                 "/daily/%00", "/api/v1/search?q=%00", "/events/1?x=%00"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 400, path
        assert "NUL" in answer.json()["error"]


def test_head_answers_what_get_would_without_the_body(client_for: Any) -> None:
    client = client_for()
    item = client.get("/api/v1/items", params={"limit": 1}).json()["items"][0]["id"]
    for path in ("/", "/all", "/feed.xml", "/feed.json", "/feed/tag/Agent.xml", "/daily",
                 "/api/v1/items", "/api/v1/openapi.json", "/llms.txt", "/events",
                 f"/items/{item}", "/items/0", "/subscriptions.opml"):  # fmt: skip
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code != 405, path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.content == b"", path
        assert int(head.headers["content-length"]) == len(get.content), path
    etag = client.get("/feed.xml").headers["etag"]
    assert client.head("/feed.xml", headers={"If-None-Match": etag}).status_code == 304
    assert client.head("/signout").status_code == 405  # a POST-only route stays POST-only
