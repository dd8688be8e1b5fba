"""Full-text search over judged titles and summaries, on either engine.

SQLite: FTS5 with the trigram tokenizer (substring matches, Chinese included; terms need three
characters). PostgreSQL: a generated tsvector with a GIN index; Chinese has no word breaks
there, so queries with CJK characters fall back to ILIKE.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, Integer, TextualSelect, column, text

_WORD = re.compile(r"[\w\-.]+", re.UNICODE)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def index_item(conn: Connection, item_id: int, title: str, summary: str) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM items_fts WHERE rowid = :id"), {"id": item_id})
        conn.execute(
            text("INSERT INTO items_fts (rowid, title, summary) VALUES (:id, :title, :summary)"),
            {"id": item_id, "title": title, "summary": summary},
        )
    else:
        conn.execute(
            text(
                "INSERT INTO items_fts (item_id, title, summary) VALUES (:id, :title, :summary) "
                "ON CONFLICT (item_id) DO UPDATE SET title = :title, summary = :summary"
            ),
            {"id": item_id, "title": title, "summary": summary},
        )


def search_item_ids(conn: Connection, query: str, limit: int = 1000) -> list[int]:
    """Ids of the newest stories matching every word of the query (at most `limit`).

    Newest by id, not best by rank: every reader of this list sorts by date anyway, and an
    FTS5 walk in rowid order stops at `limit`, where ranking must score every match first
    (4 ms instead of 90 ms for a word in a quarter of 100,000 stories)."""
    words = [w for w in _WORD.findall(query) if w.strip("-.")]
    if not words:
        return []
    if conn.dialect.name == "sqlite":
        if all(len(w) >= 3 for w in words):
            match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
            rows = conn.execute(
                text(
                    "SELECT rowid FROM items_fts WHERE items_fts MATCH :m "
                    "ORDER BY rowid DESC LIMIT :n"
                ),
                {"m": match, "n": limit},
            )
            return [r[0] for r in rows]
        return _like(conn, words, "rowid", limit)
    if _CJK.search(query):
        return _like(conn, words, "item_id", limit)
    rows = conn.execute(
        text(
            "SELECT item_id FROM items_fts, plainto_tsquery('simple', :q) query "
            "WHERE tsv @@ query ORDER BY item_id DESC LIMIT :n"
        ),
        {"q": " ".join(words), "n": limit},
    )
    return [r[0] for r in rows]


def _like(conn: Connection, words: list[str], key: str, limit: int) -> list[int]:
    op = "LIKE" if conn.dialect.name == "sqlite" else "ILIKE"
    clauses = " AND ".join(f"(title || ' ' || summary) {op} :w{i}" for i in range(len(words)))
    params: dict[str, object] = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    params["n"] = limit
    rows = conn.execute(
        text(f"SELECT {key} FROM items_fts WHERE {clauses} ORDER BY {key} DESC LIMIT :n"), params
    )
    return [r[0] for r in rows]


def match_subquery(conn: Connection, query: str, limit: int = 1000) -> TextualSelect | None:
    """The same match as `search_item_ids`, as a subquery the caller's query can join, so the
    database stops once the caller's page is full (None when the query has no words).

    PostgreSQL gets the plain match and plans a semi-join: it walks the caller's date index
    and probes each row (2 ms instead of 117 ms for a word in a quarter of 100,000 stories).
    SQLite materialises IN-subqueries, so there the walk stays newest-first and capped."""
    words = [w for w in _WORD.findall(query) if w.strip("-.")]
    if not words:
        return None
    params: dict[str, object] = {"n": limit}
    sqlite = conn.dialect.name == "sqlite"
    if sqlite and all(len(w) >= 3 for w in words):
        params["m"] = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
        sql = (
            "SELECT rowid AS id FROM items_fts WHERE items_fts MATCH :m "
            "ORDER BY rowid DESC LIMIT :n"
        )
    elif not sqlite and not _CJK.search(query):
        params = {"q": " ".join(words)}
        sql = "SELECT item_id AS id FROM items_fts WHERE tsv @@ plainto_tsquery('simple', :q)"
    else:
        key, op = ("rowid", "LIKE") if sqlite else ("item_id", "ILIKE")
        clauses = " AND ".join(f"(title || ' ' || summary) {op} :w{i}" for i in range(len(words)))
        params.update({f"w{i}": f"%{w}%" for i, w in enumerate(words)})
        sql = f"SELECT {key} AS id FROM items_fts WHERE {clauses} ORDER BY {key} DESC LIMIT :n"
    return text(sql).bindparams(**params).columns(column("id", Integer))


SCAN_NEWEST = 20_000  # stories a LIKE fallback reads, newest first (an index cannot help it)


def lexical_matches(conn: Connection, query: str, limit: int = 200) -> list[tuple[int, str]]:
    """(id, indexed title) of the newest stories matching the words of the query, so the
    caller can rank them by where the words fall without another query.

    Every word of three characters or more must match (FTS5's trigram index needs three);
    shorter ones ("AI", "o1") are left to the ranking. Queries the index cannot serve (only
    short words; CJK on PostgreSQL, whose tsvector has no word breaks for it) read the newest
    `SCAN_NEWEST` stories with LIKE instead of the whole table."""
    words = [w for w in _WORD.findall(query) if w.strip("-.")]
    if not words:
        return []
    sqlite = conn.dialect.name == "sqlite"
    params: dict[str, object] = {"n": limit}
    long = [w for w in words if len(w) >= 3]
    if sqlite and long:
        params["m"] = " AND ".join('"' + w.replace('"', '""') + '"' for w in long)
        sql = (
            "SELECT rowid, title FROM items_fts WHERE items_fts MATCH :m "
            "ORDER BY rowid DESC LIMIT :n"
        )
    elif not sqlite and not _CJK.search(query):
        params["q"] = " ".join(words)
        sql = (
            "SELECT item_id, title FROM items_fts WHERE tsv @@ plainto_tsquery('simple', :q) "
            "ORDER BY item_id DESC LIMIT :n"
        )
    else:
        key, op = ("rowid", "LIKE") if sqlite else ("item_id", "ILIKE")
        clauses = " AND ".join(f"(title || ' ' || summary) {op} :w{i}" for i in range(len(words)))
        params.update({f"w{i}": f"%{w}%" for i, w in enumerate(words)})
        params["floor"] = (
            conn.execute(text(f"SELECT max({key}) FROM items_fts")).scalar() or 0
        ) - SCAN_NEWEST
        sql = (
            f"SELECT {key}, title FROM items_fts WHERE {key} > :floor AND {clauses} "
            f"ORDER BY {key} DESC LIMIT :n"
        )
    return [(int(r[0]), str(r[1])) for r in conn.execute(text(sql), params)]


def word_matches(conn: Connection, words: list[str], cap: int = 200) -> dict[str, list[int]]:
    """For each word, the ids of the newest stories holding it (at most `cap`, among the newest
    `SCAN_NEWEST` on PostgreSQL): the "any word" side of search, each word a bounded walk of
    the index. Read through the driver's cursor: up to 1,600 ids per search, and building a
    row object for each cost more than the walks."""
    out: dict[str, list[int]] = {}
    if not words:
        return out
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "sqlite":
            sql = "SELECT rowid FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
            for word in words:
                cursor.execute(sql, ('"' + word.replace('"', '""') + '"', cap))
                out[word] = [r[0] for r in cursor.fetchall()]
        else:
            floor = newest_id(conn) - SCAN_NEWEST
            sql = (
                "SELECT item_id FROM items_fts WHERE item_id > %s "
                "AND tsv @@ plainto_tsquery('simple', %s) ORDER BY item_id DESC LIMIT %s"
            )
            for word in words:
                cursor.execute(sql, (floor, word, cap))
                out[word] = [r[0] for r in cursor.fetchall()]
    finally:
        cursor.close()
    return out


def newest_id(conn: Connection) -> int:
    """The largest indexed story id: a cheap stand-in for the collection's size."""
    key = "rowid" if conn.dialect.name == "sqlite" else "item_id"
    return int(conn.execute(text(f"SELECT max({key}) FROM items_fts")).scalar() or 0)
