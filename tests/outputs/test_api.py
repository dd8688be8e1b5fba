"""API v1 additions, access control, OpenAPI, reports pages and agent Markdown."""

from __future__ import annotations

import asyncio
from datetime import date

from newsdesk.runner.reports import build_report
from newsdesk.store import schema as t

from .conftest import demo_settings, without_reports


def test_search_sources_tags_and_cursor(client_for, desk) -> None:
    client = client_for()
    found = client.get("/api/v1/search", params={"q": "o3-mini", "limit": 2}).json()
    assert found["items"] and all(i["tier"] in ("p1", "featured", "all") for i in found["items"])
    if found["next_cursor"]:
        more = client.get(
            "/api/v1/search", params={"q": "o3-mini", "limit": 2, "cursor": found["next_cursor"]}
        ).json()
        assert {i["id"] for i in more["items"]}.isdisjoint({i["id"] for i in found["items"]})
    assert client.get("/api/v1/search", params={"q": "x", "cursor": "junk"}).status_code == 400
    assert client.get("/api/v1/search").status_code == 422
    sources = client.get("/api/v1/sources").json()["sources"]
    assert {"openai-blog", "anthropic-news"} <= {s["id"] for s in sources}
    tags = client.get("/api/v1/tags").json()["tags"]
    assert tags and tags[0]["stories"] >= tags[-1]["stories"]
    # Excluded stories never surface through search either.
    with desk.read() as conn:
        excluded = conn.execute(
            t.items.select().where(t.items.c.tier == "excluded").limit(1)
        ).first()
    hits = client.get("/api/v1/search", params={"q": excluded.title.split()[0]}).json()["items"]
    assert excluded.id not in {i["id"] for i in hits}


def test_reports_api_pages_and_markdown(client_for, desk) -> None:
    without_reports(desk)
    client = client_for()
    empty = client.get("/daily")
    assert empty.status_code == 200 and "No daily report has been composed yet" in empty.text
    assert client.get("/api/v1/daily").status_code == 404
    asyncio.run(build_report(desk, demo_settings(), "daily", date(2025, 1, 31)))
    asyncio.run(build_report(desk, demo_settings(), "weekly", date(2025, 1, 31)))
    brief = client.get("/api/v1/daily/2025-01-31").json()
    assert brief["title"] == "Daily brief: Friday, 31 January 2025" and brief["overview"] is None
    assert 0 < len(brief["entries"]) <= 12 and len(brief["flashes"]) <= 10
    # The weekly compiled the whole week, composing the missing dailies up to Sunday.
    assert client.get("/api/v1/daily").json()["period"] == "2025-02-02"
    # The document declares the period's pattern (422 when broken); a day no calendar has: 400
    assert client.get("/api/v1/daily/not-a-date").status_code == 422
    assert client.get("/api/v1/daily/2025-02-30").json()["error"] == "period must be YYYY-MM-DD"
    assert client.get("/api/v1/weekly/2025-01-27").json()["kind"] == "weekly"
    page = client.get("/daily/2025-01-31")
    assert page.status_code == 200 and "OpenAI o3-mini System Card" in page.text
    md = client.get("/daily/2025-01-31.md")
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Daily brief: Friday, 31 January 2025")
    assert "2025-01-31" in client.get("/daily").text
    assert client.get("/daily/2020-01-01").status_code == 404
    assert client.get("/weekly/2025-01-27.md").status_code == 200


def test_openapi_llms_and_agent_markdown(client_for) -> None:
    client = client_for()
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/items", "/api/v1/search", "/api/v1/sources", "/api/v1/tags",
            "/api/v1/daily/{period}"} <= set(paths)  # fmt: skip
    assert client.get("/api/v1/docs").status_code == 200
    llms = client.get("/llms.txt")
    assert llms.text.startswith("# newsdesk\n\n> ") and "http://desk.test/feed.xml" in llms.text
    agent = client.get("/api/v1/agent.md")
    assert agent.headers["content-type"].startswith("text/markdown")
    assert "### Story " in agent.text and "<untrusted-source-content>" in agent.text


def test_read_token_rate_limit_and_cors(client_for) -> None:
    locked = client_for(api_read_token="s3cret", api_rate_limit=0)
    assert locked.get("/api/v1/items").status_code == 401
    assert locked.get("/api/v1/items", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert (
        locked.get("/api/v1/items", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    )
    assert locked.get("/api/v1/items?token=s3cret").status_code == 200
    assert locked.get("/api/v1/openapi.json").status_code == 200  # the contract stays readable
    assert locked.get("/feed.xml").status_code == 200  # feeds stay open for readers
    assert locked.post("/mcp", json={}).status_code == 401  # MCP needs the token too

    limited = client_for(api_rate_limit=3)
    codes = [limited.get("/api/v1/tags").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    blocked = limited.get("/api/v1/tags")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert limited.get("/").status_code == 200  # pages are not rate limited

    cors = client_for(cors_origins="https://app.example")
    answer = cors.get("/api/v1/tags", headers={"Origin": "https://app.example"})
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    other = cors.get("/api/v1/tags", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    assert (
        "access-control-allow-origin"
        not in client_for().get("/api/v1/tags", headers={"Origin": "https://app.example"}).headers
    )
