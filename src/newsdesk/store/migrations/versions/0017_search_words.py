"""search_words: a word index on SQLite (the FTS5 table items_words, unicode61) and Chinese
and Japanese words indexed as character pairs on both engines (in items_words on SQLite;
PostgreSQL: items_fts.cjk, included in the tsvector)

Revision ID: 0017_search_words
Revises: 0016_change_notify
"""

import re
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_search_words"
down_revision: str | None = "0016_change_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The indexed forms as this revision defines them (store/search.py: cjk_grams, word_text),
# kept here so a later change there cannot change what this migration wrote.
_RUN = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CHUNK = 2000


def _pairs(run: str) -> str:
    return " ".join(run[i : i + 2] for i in range(len(run) - 1))


def _grams(text: str) -> str:
    return " 〇 ".join(_pairs(run) for run in _RUN.findall(text) if len(run) >= 2)


def _words(text: str) -> str:
    return _RUN.sub(lambda m: f" {_pairs(m.group())} 〇 ", text)


def _rows(conn: sa.Connection, sql: str, sqlite: bool) -> Iterator[list[dict[str, object]]]:
    """What each indexed story gets (SQLite: its words and title; PostgreSQL: its pairs, for
    stories with CJK text), in chunks."""
    batch: list[dict[str, object]] = []
    for item_id, title, summary in conn.execute(sa.text(sql)):
        text = f"{title}\n{summary}"
        if sqlite:
            batch.append({"id": item_id, "words": _words(text), "title": title})
        elif grams := _grams(text):
            batch.append({"id": item_id, "grams": grams})
        if len(batch) >= _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE items_words USING fts5(words, title UNINDEXED, "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        insert = sa.text(
            "INSERT INTO items_words (rowid, words, title) VALUES (:id, :words, :title)"
        )
        for batch in _rows(conn, "SELECT rowid, title, summary FROM items_fts", sqlite=True):
            conn.execute(insert, batch)
        return
    # The generated tsvector is made again with the pairs in it: dropped first, so filling the
    # new column does not compute it once more for every story.
    op.execute("DROP INDEX ix_items_fts_tsv")
    op.execute("ALTER TABLE items_fts DROP COLUMN tsv")
    op.execute("ALTER TABLE items_fts ADD COLUMN cjk TEXT NOT NULL DEFAULT ''")
    pattern = "'[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]'"
    for batch in _rows(
        conn,
        f"SELECT item_id, title, summary FROM items_fts WHERE title ~ {pattern} "
        f"OR summary ~ {pattern}",
        sqlite=False,
    ):
        conn.execute(sa.text("UPDATE items_fts SET cjk = :grams WHERE item_id = :id"), batch)
    op.execute(
        "ALTER TABLE items_fts ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', title || ' ' || summary || ' ' || cjk)) STORED"
    )
    # New stories wait in the GIN index's pending list until it is flushed, and every search
    # reads the whole list: with the default 4 MB nearly full, a search on the 100,000-story
    # desk cost 2-5 ms more ("centers": 3.9 ms, 1.9 ms once flushed). 256 kB bounds that
    # read; inserts still go in batches.
    op.execute(
        "CREATE INDEX ix_items_fts_tsv ON items_fts USING gin (tsv) "
        "WITH (gin_pending_list_limit = 256)"
    )
    op.execute("ANALYZE items_fts")  # the planner's word statistics, for the index or the walk


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE items_words")
        return
    op.execute("DROP INDEX ix_items_fts_tsv")
    op.execute("ALTER TABLE items_fts DROP COLUMN tsv")
    op.execute("ALTER TABLE items_fts DROP COLUMN cjk")
    op.execute(
        "ALTER TABLE items_fts ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', title || ' ' || summary)) STORED"
    )
    op.execute("CREATE INDEX ix_items_fts_tsv ON items_fts USING gin (tsv)")
