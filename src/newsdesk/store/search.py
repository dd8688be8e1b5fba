"""Full-text search over judged titles and summaries, on either engine: whole words.

- SQLite: the FTS5 table `items_words` (unicode61 tokenizer: one token a word), beside the
  older trigram table `items_fts`, which keeps the indexed text and serves LIKE. The trigram
  index matched inside words, but a rare word cost a merge of its trigrams' long lists (1.2
  ms for a word in 13 of 100,000 stories, 5 ms for one in none; a word index answers in
  0.03 ms), and it could not look up a word of one or two characters.
- PostgreSQL: `items_fts.tsv`, a generated tsvector with a GIN index.
- Chinese and Japanese (written without spaces): both engines index the overlapping
  two-character pairs of every run of CJK characters (`cjk_grams`), the bigram scheme of CJK
  search engines: SQLite in `items_words` in place of the run, PostgreSQL in the `cjk` column
  that the tsvector includes. A CJK word of two or more characters is asked as the phrase of
  its pairs, which matches exactly where the word is written. Most Chinese words have two
  characters: FTS5's trigram index cannot look one up, and neither can pg_trgm (it extracts
  no trigram from `%推理%`, so its GIN index returns every row for the recheck; measured in
  docs/search.md).
- A one-character CJK word has no pair: it is left to the ranking, or, alone, read with LIKE
  over the newest `SCAN_NEWEST` stories.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

_WORD = re.compile(r"[\w\-.]+", re.UNICODE)
# Han (with extension A and the compatibility block) and kana: scripts written without spaces
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
# A token between two runs' pairs, so a phrase cannot join the end of one run to the start of
# the next ("推理，理论" must not match "推理论"); 〇 is outside the runs' characters, and both
# tokenizers keep it as a token.
_BREAK = "〇"
SCAN_NEWEST = 20_000  # stories a LIKE fallback reads, newest first (an index cannot help it)


def cjk_grams(text_: str) -> str:
    """The overlapping character pairs of every CJK run of two or more characters, space
    separated (the indexed form of Chinese and Japanese text); '' when there are none."""
    runs = [run for run in _CJK_RUN.findall(text_) if len(run) >= 2]
    return f" {_BREAK} ".join(_pairs(run) for run in runs)


def word_text(text_: str) -> str:
    """The text as SQLite's word index takes it: each CJK run replaced by its pairs and a
    break (a one-character run by the break alone), the rest as written."""
    return _CJK_RUN.sub(lambda m: f" {_pairs(m.group())} {_BREAK} ", text_)


def _pairs(run: str) -> str:
    return " ".join(run[i : i + 2] for i in range(len(run) - 1))


@dataclass(frozen=True, slots=True)
class Terms:
    """A query's words as the indexes take them."""

    latin: list[str] = field(default_factory=list)  # words outside CJK runs
    cjk: list[str] = field(default_factory=list)  # CJK runs of two characters or more
    single: list[str] = field(default_factory=list)  # one-character CJK runs (no index)

    def __bool__(self) -> bool:
        return bool(self.latin or self.cjk or self.single)


def terms(query: str) -> Terms:
    runs = _CJK_RUN.findall(query)
    latin = [w for w in _WORD.findall(_CJK_RUN.sub(" ", query)) if w.strip("-.")]
    return Terms(latin, [r for r in runs if len(r) >= 2], [r for r in runs if len(r) == 1])


def index_item(conn: Connection, item_id: int, title: str, summary: str) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM items_fts WHERE rowid = :id"), {"id": item_id})
        conn.execute(
            text("INSERT INTO items_fts (rowid, title, summary) VALUES (:id, :title, :summary)"),
            {"id": item_id, "title": title, "summary": summary},
        )
        conn.execute(text("DELETE FROM items_words WHERE rowid = :id"), {"id": item_id})
        conn.execute(
            text("INSERT INTO items_words (rowid, words, title) VALUES (:id, :words, :title)"),
            {"id": item_id, "words": word_text(f"{title}\n{summary}"), "title": title},
        )
    else:
        grams = cjk_grams(f"{title}\n{summary}")
        conn.execute(
            text(
                "INSERT INTO items_fts (item_id, title, summary, cjk) "
                "VALUES (:id, :title, :summary, :cjk) ON CONFLICT (item_id) DO UPDATE "
                "SET title = :title, summary = :summary, cjk = :cjk"
            ),
            {"id": item_id, "title": title, "summary": summary, "cjk": grams},
        )


def unindex_item(conn: Connection, item_id: int) -> None:
    """Drop a story from the index (SQLite's FTS tables have no foreign key to cascade)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM items_fts WHERE rowid = :id"), {"id": item_id})
        conn.execute(text("DELETE FROM items_words WHERE rowid = :id"), {"id": item_id})
    else:
        conn.execute(text("DELETE FROM items_fts WHERE item_id = :id"), {"id": item_id})


def _phrase(word: str) -> str:
    """One query word as an FTS5 string: a Latin word as written (the tokenizer splits
    "GPT-4.5" into a phrase of its parts), a CJK word as the phrase of its pairs."""
    body = _pairs(word) if _CJK.search(word) else word
    return '"' + body.replace('"', '""') + '"'


def _match(conn: Connection, found: Terms, with_title: bool) -> tuple[str, dict[str, object]]:
    """SQL selecting (id[, title]) of the stories holding every indexable word, newest first
    and capped at :n; ('', {}) when the index can serve none of the words."""
    if conn.dialect.name == "sqlite":
        words = [*found.latin, *found.cjk]
        if not words:
            return "", {}
        cols = "rowid, title" if with_title else "rowid"
        sql = (
            f"SELECT {cols} FROM items_words WHERE items_words MATCH :m "
            "ORDER BY rowid DESC LIMIT :n"
        )
        return sql, {"m": " AND ".join(_phrase(w) for w in words)}
    parts, params = [], {}
    if found.latin:
        parts.append("plainto_tsquery('simple', :q)")
        params["q"] = " ".join(found.latin)
    for k, run in enumerate(found.cjk):
        parts.append(f"phraseto_tsquery('simple', :c{k})")
        params[f"c{k}"] = _pairs(run)
    if not parts:
        return "", {}
    cols = "item_id, title" if with_title else "item_id"
    return _newest(conn, cols, " && ".join(parts), [*found.latin, *found.cjk]), params


# PostgreSQL: newest matches by one of two plans, chosen by the rarest word's share of the
# stories in the planner's own statistics. A common word is found by walking the primary key
# backwards (200 newest of 25,000 holders of "reasoning": 0.3 ms); a rarer one by the GIN
# index and a sort of every holder ("choose", in 1.6% of the stories: 4 ms, where the walk
# the planner picked read 12,600 rows in 17 ms, since its costs do not count reading each
# row's tsvector). Past about 3% the walk is cheaper.
WALK_SHARE = 0.03
_WALK = " ORDER BY item_id DESC LIMIT :n"
_SHARES: dict[str, tuple[float, dict[str, float]]] = {}
SHARES_SECONDS = 600.0  # the statistics change only when the table is analysed


def _newest(conn: Connection, cols: str, tsquery: str, words: list[str]) -> str:
    shares = _shares(conn)
    share = 1.0
    for word in words:  # words taken as independent: an AND's share is the product
        share *= _share(word, shares)
    if share >= WALK_SHARE:
        # The walk: `ts_match_vq` is the function behind `@@`, which no index serves, so the
        # primary key walked backwards is the plan left (the planner takes an AND or a
        # compound for rarer than it is, and would go to the GIN index). Before, the walk was
        # forced with SET LOCAL enable_bitmapscan/seqscan and RESET: two more round trips
        # a walk.
        return f"SELECT {cols} FROM items_fts WHERE ts_match_vq(tsv, {tsquery}){_WALK}"
    # MATERIALIZED: every holder from the GIN index, then the newest; the planner cannot
    # turn it back into a walk
    where = f"FROM items_fts WHERE tsv @@ ({tsquery})"
    return f"WITH m AS MATERIALIZED (SELECT {cols} {where}) SELECT {cols} FROM m{_WALK}"


def _share(word: str, shares: dict[str, float]) -> float:
    """The share of stories holding a query word, as near as the statistics tell: a Latin
    word's own (`simple` indexes it lowercased, a compound also whole); a CJK word's rarest
    pair (its pairs go together). A word the statistics do not list is rarer than any they
    do: 0."""
    if _CJK.search(word):
        return min((shares.get(p, 0.0) for p in _pairs(word).split()), default=0.0)
    return shares.get(word.lower(), 0.0)


def _shares(conn: Connection) -> dict[str, float]:
    """The tsvector's most common words with the share of stories holding each, from
    `pg_stats` (refreshed every `SHARES_SECONDS`); a word not listed is rarer than all."""
    key = conn.engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    found = _SHARES.get(key)
    if found is not None and now - found[0] < SHARES_SECONDS:
        return found[1]
    rows = _rows(
        conn,
        "SELECT unnest(most_common_elems::text::text[]), unnest(most_common_elem_freqs) "
        "FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'items_fts' "
        "AND attname = 'tsv'",
        {},
    )
    shares = {str(e): float(f) for e, f in rows if e is not None}
    _SHARES[key] = (now, shares)
    return shares


def search_item_ids(conn: Connection, query: str, limit: int = 1000) -> list[int]:
    """Ids of the newest stories matching every word of the query (at most `limit`).

    Newest by id, not best by rank: every reader of this list sorts by date anyway, and an
    FTS5 walk in rowid order stops at `limit`, where ranking must score every match first
    (4 ms instead of 90 ms for a word in a quarter of 100,000 stories)."""
    found = terms(query)
    if not found:
        return []
    sql, params = _match(conn, found, with_title=False)
    if sql and not found.single:
        return [int(r[0]) for r in _rows(conn, sql, params | {"n": limit})]
    return [item_id for item_id, _ in _like(conn, found, limit)]


def lexical_matches(conn: Connection, query: str, limit: int = 200) -> list[tuple[int, str]]:
    """(id, indexed title) of the newest stories matching the words of the query, so the
    caller can rank them by where the words fall without another query.

    Every word must match but a one-character CJK word, which is left to the ranking; a
    query of those alone reads the newest `SCAN_NEWEST` stories with LIKE instead of the
    whole table."""
    found = terms(query)
    if not found:
        return []
    sql, params = _match(conn, found, with_title=True)
    if not sql:
        return _like(conn, found, limit)
    return [(int(r[0]), str(r[1])) for r in _rows(conn, sql, params | {"n": limit})]


_NAMED = re.compile(r"(?<!:):(\w+)")  # ":name", not a "::type" cast


def _rows(conn: Connection, sql: str, params: dict[str, object]) -> list[tuple[object, ...]]:
    """Rows of `sql` (":name" parameters) read on the driver's cursor, in the connection's
    transaction: up to 1,800 rows a search, and SQLAlchemy's row objects cost more than the
    index walks that found them."""
    if conn.dialect.name != "sqlite":
        sql = _NAMED.sub(r"%(\1)s", sql)  # psycopg's style
    if not conn.in_transaction():
        conn.begin()
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _like(conn: Connection, found: Terms, limit: int) -> list[tuple[int, str]]:
    """The newest `SCAN_NEWEST` stories read with LIKE (CJK has no case: plain LIKE, which
    PostgreSQL runs far faster than ILIKE on multibyte text)."""
    sqlite = conn.dialect.name == "sqlite"
    key = "rowid" if sqlite else "item_id"
    words = [*found.latin, *found.cjk, *found.single]
    clauses = []
    params: dict[str, object] = {"n": limit}
    for i, w in enumerate(words):
        op = "LIKE" if sqlite or _CJK.search(w) else "ILIKE"
        clauses.append(f"(title || ' ' || summary) {op} :w{i}")
        params[f"w{i}"] = f"%{w}%"
    params["floor"] = newest_id(conn) - SCAN_NEWEST
    sql = (
        f"SELECT {key}, title FROM items_fts WHERE {key} > :floor AND {' AND '.join(clauses)} "
        f"ORDER BY {key} DESC LIMIT :n"
    )
    return [(int(r[0]), str(r[1])) for r in _rows(conn, sql, params)]


def word_matches(conn: Connection, words: list[str], cap: int = 200) -> dict[str, list[int]]:
    """For each word (a Latin word, or a CJK run of two characters or more), the ids of the
    newest stories holding it (at most `cap`): the "any word" side of search, each word a
    bounded walk of the index. Read through the driver's cursor: up to
    1,600 ids per search, and building a row object for each cost more than the walks."""
    out: dict[str, list[int]] = {}
    if conn.dialect.name != "sqlite":
        # one statement for every word, each a bounded walk of its own: one round trip
        # instead of one a word (up to eight), 0.1-0.2 ms of client CPU each
        parts: list[str] = []
        params: dict[str, object] = {"n": cap}
        for k, word in enumerate(words):
            cjk = bool(_CJK.search(word))
            tsquery = f"{'phraseto' if cjk else 'plainto'}_tsquery('simple', :w{k})"
            parts.append(
                f"SELECT {k}, item_id FROM ({_newest(conn, 'item_id', tsquery, [word])}) w{k}"
            )
            params[f"w{k}"] = _pairs(word) if cjk else word
            out[word] = []
        if parts:
            for k, item_id in _rows(conn, " UNION ALL ".join(parts), params):
                out[words[int(k)]].append(int(item_id))
            for ids in out.values():  # a UNION ALL does not promise its branches' order
                ids.sort(reverse=True)
        return out
    cursor = conn.connection.cursor()
    try:
        walk = "SELECT rowid FROM items_words WHERE items_words MATCH ? ORDER BY rowid DESC LIMIT ?"
        for word in words:
            cursor.execute(walk, (_phrase(word), cap))
            out[word] = [r[0] for r in cursor.fetchall()]
    finally:
        cursor.close()
    return out


def newest_id(conn: Connection) -> int:
    """The largest indexed story id: a cheap stand-in for the collection's size."""
    key = "rowid" if conn.dialect.name == "sqlite" else "item_id"
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"SELECT max({key}) FROM items_fts")
        row = cursor.fetchone()
    finally:
        cursor.close()
    return int(row[0] or 0) if row else 0
