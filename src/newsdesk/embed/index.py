"""Vectors held in memory and searched with numpy (no vector database needed).

This Python's `sqlite3` has no `enable_load_extension` (so no sqlite-vec) and Debian ships no
pgvector for PostgreSQL 15, so vectors live in the database as plain blobs and each process
keeps a matrix of the ones it searches, refreshed incrementally.

Per story the index keeps the vector as int8 with one float scale (d + 4 bytes) and its sign
bits (d / 8 bytes): 580 bytes at 512 dimensions, 58 MB for 100,000 stories. A search ranks
every story by Hamming distance of sign bits (a cheap estimate of the angle: XOR and a popcount
on 8 words a story), keeps the best `RERANK` (2,000), and scores those exactly on the int8 rows. A
float32 matrix-vector product over 100,000 rows cost 16 ms of CPU here, the two-step search
a few (bench/search.py measures it, with its recall against the exact ranking).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from newsdesk.embed.base import check_same

RERANK = 2000  # stories scored exactly after the sign-bit pass
_GROW = 1024


@dataclass(frozen=True, slots=True)
class Hit:
    item_id: int
    cosine: float


class VectorIndex:
    """Unit vectors of one model by item id, with the time each story was filed."""

    def __init__(self, model: str, dim: int) -> None:
        self.model, self.dim = model, dim
        self._words = (dim + 63) // 64
        self._n = 0
        self._ids = np.full(0, -1, dtype=np.int64)
        self._when = np.zeros(0, dtype=np.int64)  # filed_at, epoch seconds
        self._rows = np.zeros((0, dim), dtype=np.int8)
        self._scale = np.zeros(0, dtype=np.float32)
        # sign bits word by word (words, stories): XOR and popcount then run over long
        # contiguous rows, 5x faster in numpy than over 8 words a story
        self._bits = np.zeros((self._words, 0), dtype=np.uint64)
        self._slot: dict[int, int] = {}
        self.high_water = 0  # the largest row id of the vectors table loaded so far

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._slot

    @property
    def nbytes(self) -> int:
        arrays = (self._ids, self._when, self._rows, self._scale, self._bits)
        return sum(a.nbytes for a in arrays)

    def check(self, model: str, dim: int) -> None:
        check_same(self.model, self.dim, model, dim)

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need <= self._ids.shape[0]:
            return
        size = max(need, 2 * self._ids.shape[0], _GROW)

        def grow(a: np.ndarray, fill: int = 0) -> np.ndarray:
            out = np.full((size, *a.shape[1:]), fill, dtype=a.dtype)
            out[: self._n] = a[: self._n]
            return out

        self._ids, self._when = grow(self._ids, -1), grow(self._when)
        self._rows, self._scale = grow(self._rows), grow(self._scale)
        bits = np.zeros((self._words, size), dtype=np.uint64)
        bits[:, : self._n] = self._bits[:, : self._n]
        self._bits = bits

    def add(self, ids: Iterable[int], when: Iterable[float], matrix: np.ndarray) -> None:
        """Add or replace vectors (rows of unit length, this index's model)."""
        ids = np.fromiter(ids, dtype=np.int64)
        when = np.fromiter(when, dtype=np.float64).astype(np.int64)
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.shape != (ids.shape[0], self.dim):
            raise ValueError(f"expected {ids.shape[0]} rows of {self.dim}, got {matrix.shape}")
        for item_id in ids.tolist():
            self.remove(item_id)
        self._reserve(ids.shape[0])
        lo, hi = self._n, self._n + ids.shape[0]
        peak = np.abs(matrix).max(axis=1) if ids.shape[0] else np.zeros(0, np.float32)
        peak[peak == 0] = 1.0
        self._scale[lo:hi] = peak / 127.0
        self._rows[lo:hi] = np.rint(matrix / self._scale[lo:hi, None]).astype(np.int8)
        self._bits[:, lo:hi] = _sign_bits(matrix, self._words).T
        self._ids[lo:hi], self._when[lo:hi] = ids, when
        for offset, item_id in enumerate(ids.tolist()):
            self._slot[item_id] = lo + offset
        self._n = hi
        if self._n > 2 * len(self._slot) + _GROW:
            self._compact()

    def remove(self, item_id: int) -> None:
        slot = self._slot.pop(item_id, None)
        if slot is not None:
            self._ids[slot] = -1

    def _compact(self) -> None:
        keep = np.flatnonzero(self._ids[: self._n] >= 0)
        for name in ("_ids", "_when", "_rows", "_scale"):
            setattr(self, name, getattr(self, name)[keep].copy())
        self._bits = np.ascontiguousarray(self._bits[:, keep])
        self._n = keep.shape[0]
        self._slot = {int(i): s for s, i in enumerate(self._ids.tolist())}

    def vector(self, item_id: int) -> np.ndarray | None:
        slot = self._slot.get(item_id)
        if slot is None:
            return None
        return self._rows[slot].astype(np.float32) * self._scale[slot]

    def filed_at(self, item_id: int) -> float:
        return float(self._when[self._slot[item_id]])

    def cosine(self, a: int, b: int) -> float | None:
        va, vb = self.vector(a), self.vector(b)
        if va is None or vb is None:
            return None
        return float(va @ vb)

    def search(
        self,
        query: np.ndarray,
        k: int = 10,
        floor: float = -1.0,
        since: float | None = None,
        until: float | None = None,
        rerank: int = RERANK,
    ) -> list[Hit]:
        """The `k` nearest stories with cosine ≥ `floor`, optionally filed in [since, until]."""
        n = self._n
        if n == 0 or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"query has {q.shape[0]} numbers, this index {self.dim}")
        if since is None and until is None and len(self._slot) == n:
            slots = None  # every row is live and wanted: no mask to build over 100,000 rows
            count = n
        else:
            live = self._ids[:n] >= 0
            if since is not None:
                live &= self._when[:n] >= int(since)
            if until is not None:
                live &= self._when[:n] <= int(until)
            slots = np.flatnonzero(live)
            count = slots.shape[0]
        if count > rerank:
            # Hamming distance of sign bits; the ones nearest in angle go on to exact scoring.
            bits = self._bits[:, :n] if slots is None else self._bits[:, slots]
            qbits = _sign_bits(q[None, :], self._words)[0]
            distance = np.bitwise_count(bits[0] ^ qbits[0]).astype(np.uint16)
            scratch = np.empty(bits.shape[1], dtype=np.uint64)
            for word in range(1, self._words):
                np.bitwise_xor(bits[word], qbits[word], out=scratch)
                distance += np.bitwise_count(scratch)
            best = _nearest(distance, rerank, self._words * 64)
            slots = best if slots is None else slots[best]
        elif slots is None:
            slots = np.arange(n)
        scores = (self._rows[slots].astype(np.float32) @ q) * self._scale[slots]
        keep = scores >= floor
        slots, scores = slots[keep], scores[keep]
        if scores.shape[0] > k:
            top = np.argpartition(-scores, k)[:k]
            slots, scores = slots[top], scores[top]
        order = np.argsort(-scores, kind="stable")
        return [Hit(int(self._ids[slots[i]]), float(scores[i])) for i in order]


def _nearest(distance: np.ndarray, rerank: int, bits: int) -> np.ndarray:
    """Positions of about the `rerank` smallest distances (all those tied at the cut too).
    Distances are small integers: counting them finds the cut in one pass, 4x cheaper than
    `argpartition` over 100,000 of them."""
    counts = np.cumsum(np.bincount(distance, minlength=bits + 1))
    cut = int(np.searchsorted(counts, rerank))
    if counts[cut] > 2 * rerank:  # a crowd tied at the cut: take `rerank` of them exactly
        return np.argpartition(distance, rerank)[:rerank]
    return np.flatnonzero(distance <= cut)


def _sign_bits(matrix: np.ndarray, words: int) -> np.ndarray:
    packed = np.packbits(matrix > 0, axis=1)
    pad = words * 8 - packed.shape[1]
    if pad:
        packed = np.pad(packed, ((0, 0), (0, pad)))
    return np.ascontiguousarray(packed).view(np.uint64)
