"""The search index on both engines: Chinese words of two characters and more are found
through their character pairs (in SQLite's word index `items_words`, in PostgreSQL's
tsvector), as whole words, not as characters scattered through a story; English words are
found as words, short ones included; a revised story is found by its new words only; a desk
indexed before this index existed finds its stories once upgraded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from newsdesk.domain import Source
from newsdesk.publish.read import list_cards
from newsdesk.store import repo
from newsdesk.store import schema as t
from newsdesk.store.db import Database
from newsdesk.store.migrate import upgrade
from newsdesk.store.search import (
    cjk_grams,
    index_item,
    search_item_ids,
    unindex_item,
    word_text,
)

NOW = datetime.now(UTC)
STORIES = [  # (title, summary), oldest first
    ("深度求索发布推理模型 R1", "开源的大模型推理能力接近 o1。"),
    ("智谱发布 GLM-4.5", "新模型在代码和推理基准上领先。"),  # 推理 in the summary only
    ("模型与推理：一篇综述", "讨论推理，理论与实践。"),  # 模型 and 推理 apart; 推理 then 理论
    ("OpenAI ships a reasoning model", "The model spends more compute on reasoning."),
    ("Quokka robotics raises a round", "A rare word: the quokka appears here only."),
    ("猫的图片生成", "一个字的词。"),
]


def _seed(db: Database, index: bool = True) -> list[int]:
    def write(conn) -> list[int]:
        repo.upsert_sources(conn, [Source(id="s", name="S", url="https://s.example/feed")], NOW)
        ids = []
        for n, (title, summary) in enumerate(STORIES):
            when = NOW - timedelta(hours=len(STORIES) - n)
            item_id = conn.execute(
                insert(t.items).values(
                    identity_key=f"k{n}", source_id="s", url=f"https://s.example/{n}",
                    title=title, language="zh" if n < 3 or n == 5 else "en", published_at=when,
                    filed_at=when, first_seen_at=when, updated_at=when, content_hash=f"h{n}",
                ).returning(t.items.c.id)
            ).scalar_one()  # fmt: skip
            jid = conn.execute(
                insert(t.judgements).values(
                    item_id=item_id, created_at=NOW, policy_version="p", editor="rules",
                    importance=70, tier="featured", hook=True, knowledge=True, resonance=False,
                    tags={"capabilities": [], "entities": [], "topics": []}, title_en=title,
                    summary_en=summary,
                ).returning(t.judgements.c.id)
            ).scalar_one()  # fmt: skip
            shown = {"judgement_id": jid, "tier": "featured"}
            conn.execute(t.items.update().where(t.items.c.id == item_id).values(**shown))
            if index:
                index_item(conn, item_id, title, summary)
            ids.append(item_id)
        return ids

    return db.write_sync(write)


def _found(db: Database, q: str, mode: str = "lexical") -> list[str]:
    """The titles of the stories a search shows, in its order."""
    with db.read() as conn:
        cards = list_cards(conn, q=q, mode=mode, limit=20).cards  # type: ignore[arg-type]
    return [STORIES[int(c["url"].rsplit("/", 1)[1])][0] for c in cards]


def test_chinese_words_are_found_as_words_on_both_engines(db: Database) -> None:
    ids = _seed(db)
    # a two-character word: in a title, in a summary only, and in a story where it stands
    # apart from another word
    assert set(_found(db, "推理")) == {STORIES[0][0], STORIES[1][0], STORIES[2][0]}
    # a longer word is found where it is written whole, not where its characters are apart
    # (story 2 has 模型 and 推理, apart)
    assert _found(db, "模型推理") == [STORIES[0][0]]
    assert _found(db, "大模型推理") == [STORIES[0][0]]
    assert _found(db, "推理能力") == [STORIES[0][0]]
    # "推理，理论" has the pairs 推理 and 理论 side by side, but not the word 推理论
    assert _found(db, "推理论") == []
    # Chinese and Latin words in one query: every word must be there
    assert _found(db, "GLM-4.5 推理") == [STORIES[1][0]]
    # a two-letter word is a word like any other (SQLite's trigram index could not look it up)
    assert _found(db, "R1 推理") == [STORIES[0][0]]
    # a one-character word has no pair to look up: read with LIKE, still found
    assert _found(db, "猫") == [STORIES[5][0]]
    # hybrid (the default) ranks the same stories when the desk has no vectors
    assert set(_found(db, "推理", mode="hybrid")) == set(_found(db, "推理"))
    with db.read() as conn:
        assert search_item_ids(conn, "推理能力") == [ids[0]]
    # English keeps its index: a word in two stories, a rare word, the exact title first
    assert set(_found(db, "reasoning")) == {STORIES[3][0]}
    assert _found(db, "quokka") == [STORIES[4][0]]
    assert _found(db, "OpenAI ships a reasoning model")[0] == STORIES[3][0]
    assert _found(db, "zzzqqq") == []


class _Common(dict):
    """Statistics that call every word common."""

    def get(self, key, default=None):  # type: ignore[override]
        return 0.5


def test_postgresql_finds_the_same_by_walking_or_by_the_index(db: Database, monkeypatch) -> None:
    # PostgreSQL picks its plan by each word's share of the stories: walking the newest
    # stories for a common word, the GIN index for a rarer one (a desk this small has no
    # statistics: every word is rare). Both plans find the same stories.
    from newsdesk.store import search

    _seed(db)
    queries = ["推理", "大模型推理", "GLM-4.5 推理", "reasoning", "quokka", "推理论"]
    by_index = {q: _found(db, q) for q in queries}
    with db.read() as conn:
        ranked = search.word_matches(conn, ["推理", "reasoning", "quokka"])
    monkeypatch.setattr(search, "_shares", lambda conn: _Common())
    assert {q: _found(db, q) for q in queries} == by_index
    with db.read() as conn:
        assert search.word_matches(conn, ["推理", "reasoning", "quokka"]) == ranked
    assert by_index["推理论"] == [] and by_index["quokka"] == [STORIES[4][0]]


def test_a_revised_or_removed_story_leaves_the_pair_index(db: Database) -> None:
    ids = _seed(db)

    def revise(conn) -> None:
        index_item(conn, ids[0], "深度求索发布新版本", "更新了对话能力。")
        unindex_item(conn, ids[1])

    db.write_sync(revise)
    assert set(_found(db, "推理")) == {STORIES[2][0]}
    with db.read() as conn:
        assert search_item_ids(conn, "对话能力") == [ids[0]]
        assert search_item_ids(conn, "GLM-4.5") == []


def test_cjk_grams_are_pairs_of_each_run() -> None:
    assert cjk_grams("大模型推理") == "大模 模型 型推 推理"
    # runs apart are kept apart; one character alone makes no pair; Latin text is left out
    assert cjk_grams("推理，理论 AI 猫") == "推理 〇 理论"
    assert cjk_grams("GPT-5 ships") == ""
    # SQLite's word index reads the pairs in place of each run
    assert word_text("GPT-5 推理，理论 猫") == "GPT-5  推理 〇 ， 理论 〇    〇 "


@pytest.fixture
def old_db(database_url: str):
    database = Database(database_url)
    upgrade(database, "0016_change_notify")
    yield database
    database.close()


def test_a_desk_indexed_before_the_pairs_finds_chinese_after_upgrade(old_db: Database) -> None:
    ids = _seed(old_db, index=False)

    def index_the_old_way(conn) -> None:
        for item_id, (title, summary) in zip(ids, STORIES, strict=True):
            key = "rowid" if conn.dialect.name == "sqlite" else "item_id"
            conn.execute(
                text(f"INSERT INTO items_fts ({key}, title, summary) VALUES (:i, :t, :s)"),
                {"i": item_id, "t": title, "s": summary},
            )

    old_db.write_sync(index_the_old_way)
    upgrade(old_db)
    assert set(_found(old_db, "推理")) == {STORIES[0][0], STORIES[1][0], STORIES[2][0]}
    assert _found(old_db, "推理能力") == [STORIES[0][0]]
    assert _found(old_db, "quokka") == [STORIES[4][0]]


def test_a_cursor_page_starts_at_its_cursor_on_the_date_index(db: Database) -> None:
    """Page 2 (the scroll's next page, an API cursor) seeks the date index at its cursor: with
    `filed_at < :when OR (filed_at = :when AND id < :last)` alone SQLite had no range and
    walked from the newest story down (4-6 ms a page deep in a 100,000-story history)."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL compares (filed_at, id) as a row, an index range already")
    from newsdesk.publish.read import PUBLIC_TIERS, _page_statement, _Shape
    from newsdesk.store.prepared import prepare

    values = {"when": "2026-01-01 00:00:00", "last_id": 9, "page_limit": 31, "tag": "x"}
    for tag in (False, True):
        shape = _Shape(PUBLIC_TIERS, True, tag, False, False, False, True, True)
        with db.engine.connect() as conn:
            found = prepare(conn, ("plan test", shape), lambda s=shape: _page_statement(s))
            given = found.defaults | values
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + found.sql, tuple(given[n] for n in found.names or ())
            ).all()
        walk = "item_tags" if tag else "items"
        assert any(f"SEARCH {walk}" in row[-1] and "filed_at<?" in row[-1] for row in plan), plan
