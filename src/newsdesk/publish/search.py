"""Search by words and by meaning, fused: what `/`, `/api/v1/search` and MCP search rank by.

- **lexical**: the full-text index (FTS5 trigram / tsvector, `store.search`) finds the newest
  200 stories holding every word; they are ranked by where the words fall (the whole query in
  the title, then the share of words in the title), then by date.
- **semantic**: the query is embedded with the bundled model (in this process, ~2 ms; the model
  loads on the first search) and compared with every story's vector of that model, held in a
  per-process `VectorIndex` refreshed incrementally from `item_vectors`. Stories under a cosine
  floor are not matches, so a query about nothing on the desk finds nothing.
- **hybrid** (the default): reciprocal-rank fusion, `Σ 1 / (60 + rank)`, of those two lists
  and a third, the stories holding *any* of the query's rarer words weighted by inverse
  frequency (`any_word_ranking`). An exact title is first in every list and stays first; a
  paraphrase or a query in another language has no all-words match and comes from meaning
  and the shared rare words. eval/search.jsonl measures them (`newsdesk eval search`).

Pages never call a remote model (invariant 1): with an embeddings endpoint configured
(`NEWSDESK_EMBED_MODEL`), queries cannot be embedded here, and search is lexical.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import Connection

from newsdesk.config import load_settings
from newsdesk.embed import VectorIndex
from newsdesk.embed.base import from_blob
from newsdesk.publish.memo import desk_number, until
from newsdesk.store import vectors as store_vectors
from newsdesk.store.search import lexical_matches, newest_id, terms, word_matches

Mode = Literal["hybrid", "lexical", "semantic"]
MODES: tuple[Mode, ...] = ("hybrid", "lexical", "semantic")
CANDIDATES = 200  # lexical matches ranked, and the fused list's length
SEMANTIC_K = 100  # nearest stories by meaning; below them a paraphrase's story is not found
RRF_K = 60  # the usual constant of reciprocal-rank fusion: damps the weight of the top ranks
# Meaning alone is a match at cosine >= 0.22 and within 0.15 of the best match: on the demo
# desk, queries about nothing on it ("banana bread recipe", "xyzzy") reach 0.19 at most, and
# a paraphrase's story 0.25-0.6 (docs/search.md).
SEMANTIC_FLOOR = 0.22
SEMANTIC_MARGIN = 0.15
REFRESH_SECONDS = 2.0  # a process checks for new vectors at most this often
OVERLAP = timedelta(seconds=15)  # stamps re-read behind the newest loaded one
_WORDS = re.compile(r"[\w\-.]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Ranked:
    """Story ids best first, with the lists they came from (for eval and tests)."""

    ids: list[int]
    lexical: list[int]
    semantic: list[int]


def search_ids(conn: Connection, query: str, mode: Mode = "hybrid") -> Ranked:
    """Ids of the stories matching `query` (every story, public or not: the caller filters)."""
    words = query_words(query) if mode != "semantic" else []
    # one word needs no list of its own: the all-words walk below is the same walk
    lists = word_matches(conn, words) if len(words) >= 2 else {}
    lexical = lexical_ranking(conn, query, lists, words) if mode != "semantic" else []
    semantic = semantic_ranking(conn, query) if mode != "lexical" else []
    if mode == "lexical":
        ids = lexical
    elif mode == "semantic":
        ids = semantic
    else:
        # the stories holding some of the rarer words help a description that names one thing
        # ("the small cheap Claude model") where the model alone ranks it low
        ids = fuse(lexical, semantic, any_word_ranking(conn, lists))
    return Ranked(ids[:CANDIDATES], lexical, semantic)


def query_words(query: str) -> list[str]:
    """The query's words a list is walked for: Latin ones of three letters or more that are
    not function words, and CJK words of two characters or more; at most eight."""
    found = terms(query)
    latin = [w.lower() for w in found.latin if len(w) >= 3 and w.isascii()]
    return list(dict.fromkeys([*(w for w in latin if w not in _STOP), *found.cjk]))[:8]


def fuse(*rankings: list[int], k: int = RRF_K) -> list[int]:
    given = [r for r in rankings if r]
    if len(given) == 1:
        return given[0]  # one list: the fusion is that list's order (a desk without vectors)
    score: dict[int, float] = {}
    get = score.get
    for ranking in rankings:
        for rank, item_id in enumerate(ranking, k + 1):
            score[item_id] = get(item_id, 0.0) + 1.0 / rank
    # reverse=True keeps ties in first-seen order, as the old `key=-score` did; no lambda
    # called per story
    return sorted(score, key=score.__getitem__, reverse=True)


def lexical_ranking(
    conn: Connection,
    query: str,
    lists: dict[str, list[int]] | None = None,
    words: list[str] | None = None,
) -> list[int]:
    """Stories holding every word, ranked by where the words fall. With the query's word
    lists known, the index is asked for the three rarest words only: an AND over common words
    merges long posting lists (30 ms at 100,000 stories), and the ranking reads every word.
    A query of one such word asks for that word alone."""
    asked = query
    if query.isascii():  # function words and short ones match nearly everything
        if lists:
            asked = " ".join(sorted(lists, key=lambda w: len(lists[w]))[:3])
        elif words and len(words) == 1:
            asked = words[0]
    rows = lexical_matches(conn, asked, CANDIDATES)  # newest first
    wanted = " ".join(query.lower().split())
    every = [w.lower() for w in _WORDS.findall(query)]

    def score(row: tuple[int, str]) -> float:
        title = row[1].lower()
        share = sum(w in title for w in every) / len(every) if every else 0.0
        return (2.0 if wanted and wanted in title else 0.0) + share

    return [item_id for item_id, _ in sorted(rows, key=score, reverse=True)]


_STOP = frozenset(
    [  # function words: in every story, they rank nothing
        "about",
        "after",
        "also",
        "and",
        "are",
        "been",
        "before",
        "but",
        "for",
        "from",
        "has",
        "have",
        "into",
        "its",
        "it's",
        "more",
        "new",
        "not",
        "now",
        "off",
        "our",
        "out",
        "over",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "was",
        "were",
        "what",
        "when",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def any_word_ranking(conn: Connection, lists: dict[str, list[int]]) -> list[int]:
    """Stories holding any of the query's words (`word_matches`), ranked by the sum of each
    matched word's inverse frequency: a cheap BM25 without term counts."""
    if len(lists) < 2:
        return []  # one word: the all-words list says it already
    size = max(newest_id(conn), 1)
    score: dict[int, float] = {}
    get = score.get
    for ids in lists.values():
        weight = math.log(1 + size / max(len(ids), 1))
        for item_id in ids:
            score[item_id] = get(item_id, 0.0) + weight
    return sorted(score, key=score.__getitem__, reverse=True)[:CANDIDATES]


def semantic_ranking(conn: Connection, query: str, floor: float = SEMANTIC_FLOOR) -> list[int]:
    model = search_model()
    if model is None or not query.strip():
        return []
    index = vector_index(conn, model)
    if index is None or not len(index):
        return []
    vector = _query_vector(" ".join(query.split()))
    hits = index.search(vector, k=SEMANTIC_K, floor=floor)
    if not hits:
        return []
    bar = hits[0].cosine - SEMANTIC_MARGIN
    return [h.item_id for h in hits if h.cosine >= bar]


def related_ids(
    conn: Connection, item_id: int, days: int = 30, limit: int = 20, floor: float = 0.45
) -> list[tuple[int, float]]:
    """Stories nearest in meaning to one story, filed within `days` of it (the caller drops
    its own event's members and anything not public)."""
    model = search_model()
    if model is None:
        return []
    index = vector_index(conn, model)
    vector = index.vector(item_id) if index is not None else None
    if index is None or vector is None:
        return []
    when = index.filed_at(item_id)
    span = timedelta(days=days).total_seconds()
    hits = index.search(vector, k=limit + 1, floor=floor, since=when - span, until=when + span)
    return [(h.item_id, h.cosine) for h in hits if h.item_id != item_id][:limit]


# ---- the model and the per-process index -------------------------------------------------------


_settings_lock = threading.Lock()
_model_name: list[str | None] = []


def search_model() -> str | None:
    """The bundled model's name when it is the desk's embedder; None otherwise (off, or an
    endpoint this process may not call)."""
    with _settings_lock:
        if not _model_name:
            settings = load_settings()
            if settings.embed_enabled and not settings.embed_model:
                from newsdesk.embed.local import model_name

                _model_name.append(model_name())
            else:
                _model_name.append(None)
        return _model_name[0]


_QUERY_CACHE: OrderedDict[str, np.ndarray] = OrderedDict()
_QUERY_LOCK = threading.Lock()


def _query_vector(query: str, embed: Callable[[list[str]], np.ndarray] | None = None) -> np.ndarray:
    with _QUERY_LOCK:
        found = _QUERY_CACHE.get(query)
        if found is not None:
            _QUERY_CACHE.move_to_end(query)
            return found
    if embed is None:
        from newsdesk.embed.local import embed_texts as embed
    vector = embed([query])[0]
    with _QUERY_LOCK:
        _QUERY_CACHE[query] = vector
        while len(_QUERY_CACHE) > 512:
            _QUERY_CACHE.popitem(last=False)
    return vector


class _Cached:
    def __init__(self, model: str) -> None:
        self.model = model
        self.index: VectorIndex | None = None
        self.high_water: datetime | None = None
        self.stamps: dict[int, datetime] = {}  # when each recently loaded vector was stored
        self.advanced_at = 0.0  # monotonic time the newest stamp last moved
        self.checked = 0.0
        self.checked_wall = 0.0  # the same moment in Unix seconds (for a kept read's end)
        self.number: object = None  # the desk's change number read before the last check
        self.lock = threading.Lock()


_INDEXES: dict[tuple[str, str], _Cached] = {}
_INDEXES_LOCK = threading.Lock()


def vector_index(conn: Connection, model: str) -> VectorIndex | None:
    """This process's index of `model`'s vectors for this database, brought up to date with
    the rows stored since the last look (at most every `REFRESH_SECONDS`)."""
    key = (conn.engine.url.render_as_string(hide_password=True), model)
    with _INDEXES_LOCK:
        cached = _INDEXES.setdefault(key, _Cached(model))
    number = desk_number(conn)  # what this check's statements will see at least
    with cached.lock:
        now = time.monotonic()
        if cached.checked and (number is not None and number == cached.number):
            return cached.index  # nothing committed since the last look: it is current
        if cached.checked and now - cached.checked < REFRESH_SECONDS:
            # None too: a desk without vectors is not asked every search. The index may miss
            # vectors committed since the last look: a search kept (publish/memo.py) ends
            # when the next look is due.
            until(cached.checked_wall + REFRESH_SECONDS)
            return cached.index
        cached.checked, cached.checked_wall, cached.number = now, time.time(), number
        if cached.high_water is None:
            rows = store_vectors.since(conn, model, None)
        else:
            # While vectors are arriving, some overlap, so a transaction that committed a
            # little late is not missed (only the stamps are read for it, and only vectors not
            # loaded or re-stored are fetched); once none has arrived for OVERLAP, no late one
            # can come, and only what is newer than the newest is asked for.
            quiet = now - cached.advanced_at > OVERLAP.total_seconds()
            after = cached.high_water if quiet else cached.high_water - OVERLAP
            stamps = store_vectors.stamps_since(conn, model, after)
            fresh = [i for i, at in stamps if cached.stamps.get(i) != at]
            rows = store_vectors.by_ids(conn, model, fresh) if fresh else []
        if rows:
            dim = rows[0].dim
            if cached.index is None:
                cached.index = VectorIndex(model, dim)
            rows = [r for r in rows if r.dim == cached.index.dim]
            cached.index.add(
                (r.item_id for r in rows),
                (r.filed_at.timestamp() for r in rows),
                np.stack([from_blob(r.vector, dim) for r in rows]),
            )
            newest = max(r.created_at for r in rows)
            if cached.high_water is None or newest > cached.high_water:
                cached.high_water, cached.advanced_at = newest, now
            # only stamps inside the overlap can come back; older ones are forgotten
            recent = cached.high_water - 2 * OVERLAP
            cached.stamps.update((r.item_id, r.created_at) for r in rows if r.created_at >= recent)
            cached.stamps = {i: at for i, at in cached.stamps.items() if at >= recent}
        return cached.index


def forget_indexes() -> None:
    """Drop every cached index and the settings read (tests that swap databases or models)."""
    with _INDEXES_LOCK:
        _INDEXES.clear()
    with _settings_lock:
        _model_name.clear()
