"""Search by words and meaning on the demo desk, both engines: an exact title stays first, a
paraphrase finds its story, Chinese finds English and the reverse, nothing found says so, and
the API, the page and MCP rank the same way."""

from __future__ import annotations

from newsdesk.publish import agents

from .conftest import demo_settings


def _urls(client, q: str, **params) -> list[str]:
    body = client.get("/api/v1/search", params={"q": q, "limit": 10, **params}).json()
    return [item["url"] for item in body["items"]]


def test_hybrid_search_by_words_and_meaning(client_for, desk) -> None:
    client = client_for()
    haiku = "https://www.anthropic.com/news/claude-haiku-4-5"
    # an exact title stays first
    assert _urls(client, "Introducing Claude Haiku 4.5")[0] == haiku
    # a paraphrase with none of the title's words finds its story; words alone find nothing
    stargate = "https://openai.com/index/announcing-the-stargate-project"
    paraphrase = "half a trillion dollars for data centers in the United States"
    assert stargate in _urls(client, paraphrase)[:3]
    assert _urls(client, paraphrase, mode="lexical") == []
    # a Chinese query finds a story only reported in English, and the reverse
    plan = "https://policycircuit.example/2025/07/us-ai-action-plan"
    assert plan in _urls(client, "美国白宫发布人工智能行动计划")[:3]
    manus = "https://jiqiqianyan.example/articles/20250306-manus-agent"
    assert manus in _urls(client, "Manus general agent from the Monica team")[:3]
    # paging goes by rank: the second page continues the first
    first = client.get("/api/v1/search", params={"q": "open model", "limit": 3}).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    more = {"q": "open model", "limit": 3, "cursor": first["next_cursor"]}
    second = client.get("/api/v1/search", params=more).json()
    whole = client.get("/api/v1/search", params={"q": "open model", "limit": 6}).json()
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in whole["items"]]
    # constraints are declared (OpenAPI) and enforced
    assert client.get("/api/v1/search", params={"q": "x", "mode": "fuzzy"}).status_code == 422
    assert client.get("/api/v1/search", params={"q": "x" * 301}).status_code == 422
    params = {
        p["name"]: p
        for p in client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/search"]["get"][
            "parameters"
        ]
    }
    assert params["mode"]["schema"]["enum"] == ["hybrid", "lexical", "semantic"]  # fmt: skip
    # nothing found says so, in the API, on the page and in MCP
    nothing = client.get("/api/v1/search", params={"q": "banana bread recipe"}).json()
    assert (
        nothing["items"] == []
        and nothing["message"] == "No public stories match 'banana bread recipe'."
    )
    page = client.get("/all", params={"q": "banana bread recipe"}).text
    assert "No stories match “banana bread recipe”" in page
    with desk.read() as conn:
        md = agents.search_md(conn, "http://desk.test", "banana bread recipe", 5)
        assert "No public stories match." in md
        found = agents.search_md(conn, "http://desk.test", "人工智能生成内容标注规定", 5)
    assert "labeling" in found.lower() or "标识" in found
    # related stories: nearest in meaning, outside the story's own event, on item and event
    haiku_id = client.get("/api/v1/search", params={"q": "Introducing Claude Haiku 4.5"}).json()
    haiku_id = haiku_id["items"][0]["id"]
    item = client.get(f"/items/{haiku_id}").text
    related = item[item.index('id="related-h"') :]
    assert "Claude Sonnet 4.5" in related
    with desk.read() as conn:
        from newsdesk.publish.related import related as related_of
        from newsdesk.store import schema as t

        near = related_of(conn, haiku_id)
        members = set(conn.execute(
            t.event_members.select().with_only_columns(t.event_members.c.item_id).where(
                t.event_members.c.event_id == t.event_members.select().with_only_columns(
                    t.event_members.c.event_id).where(
                        t.event_members.c.item_id == haiku_id).scalar_subquery()
            )).scalars())  # fmt: skip
        sonnet = conn.execute(
            t.items.select().where(
                t.items.c.url == "https://www.anthropic.com/news/claude-sonnet-4-5"
            )
        ).first()
        event_id = (
            conn.execute(t.event_members.select().where(t.event_members.c.item_id == sonnet.id))
            .first()
            .event_id
        )
    assert near and all(r["id"] not in members for r in near)
    assert all(r["cosine"] >= 0.45 for r in near)
    assert 'id="related-h"' in client.get(f"/events/{event_id}").text
    # the page ranks like the API: best match first, not by date
    html = client.get("/all", params={"q": paraphrase}).text
    assert "Best matches" in html and html.index("Stargate") < html.index("</main>")


def test_search_is_lexical_when_embedding_is_off(client_for, desk, monkeypatch) -> None:
    from newsdesk.publish import search

    monkeypatch.setenv("NEWSDESK_EMBED_ENABLED", "false")
    search.forget_indexes()
    try:
        client = client_for()
        # without vectors a query in the other language has nothing to match
        assert _urls(client, "美国白宫发布人工智能行动计划") == []
        assert _urls(client, "Introducing Claude Haiku 4.5")[0].endswith("claude-haiku-4-5")
    finally:
        monkeypatch.delenv("NEWSDESK_EMBED_ENABLED")
        search.forget_indexes()
    assert demo_settings().embed_enabled
