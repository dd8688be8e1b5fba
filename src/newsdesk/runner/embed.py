"""Embedding stories: every story gets a vector of the current model before it is grouped.

The bundled model runs in worker processes of `runner.cpu.CpuPool` (each worker loads it once,
~1 s of CPU), a batch of texts per job, so the event loop only reads and writes. With
`NEWSDESK_EMBED_MODEL` set, the OpenAI-compatible endpoint embeds instead, through the editor's
paid client (receipts, budgets, usage): a batch retried after a crash is not paid twice.

Idempotent and resumable: a story counts as embedded when a vector of the current model made
from its current revision is stored, so a second run embeds nothing, an interrupted one picks
up where it stopped, and a changed embedder re-embeds everything, newest stories first, a
bounded number per pass (`newsdesk embed rebuild` does the rest at once, with a progress bar).
The pipeline's step is `runner.steps.embed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from newsdesk.config import Settings
from newsdesk.editor.providers import LLMProvider
from newsdesk.embed.base import from_blob, story_text, to_blob
from newsdesk.embed.endpoint import EndpointEmbedder, endpoint_name
from newsdesk.embed.local import DIM, embed_texts, model_name
from newsdesk.normalize.identity import is_repost
from newsdesk.runner.cpu import CpuPool
from newsdesk.store import repo
from newsdesk.store import vectors as store_vectors
from newsdesk.store.db import Database

PER_PASS = 5000  # stories embedded per pipeline pass; a new embedder's backlog spreads out


@dataclass
class StoryEmbedder:
    """What embedding needs: the model's name and dimension, and a batch call off the loop."""

    name: str
    dim: int
    run: Callable[[list[str]], Awaitable[np.ndarray]]


def current_model(settings: Settings) -> tuple[str, int] | None:
    """(name, dimension) of the vectors this desk searches and groups with; None when off.
    An endpoint's dimension is learnt from its vectors (0 here)."""
    if not settings.embed_enabled:
        return None
    if settings.embed_model:
        return endpoint_name(settings.embed_model), 0
    return model_name(), DIM


def local_embedder(pool: CpuPool) -> StoryEmbedder:
    async def run(texts: list[str]) -> np.ndarray:
        return await pool.run(embed_texts, texts)

    return StoryEmbedder(model_name(), DIM, run)


def endpoint_embedder(settings: Settings, provider: LLMProvider) -> StoryEmbedder:
    """The configured endpoint through the editor's receipted client."""
    endpoint = EndpointEmbedder(settings.embed_model, provider.embed)
    return StoryEmbedder(endpoint.name, 0, endpoint.aembed)


async def embed_pending(
    db: Database,
    embedder: StoryEmbedder,
    now: datetime,
    *,
    ids: list[int] | None = None,
    batch: int = 64,
    limit: int = PER_PASS,
    progress: Any = None,
    parallel: int = 2,
) -> int:
    """Embed up to `limit` stories (of `ids`, when given) that lack a vector of `embedder`'s
    model, `parallel` batches at a time, storing each batch as it lands. Returns how many."""
    if ids is not None and not ids:
        return 0
    total = await db.read_async(lambda c: len(store_vectors.pending(c, embedder.name, limit, ids)))
    if not total:
        return 0
    if progress is not None:
        progress.start("embed", total)
    done = 0
    while done < total:
        size = min(batch * parallel, total - done)
        todo = await db.read_async(
            lambda c, n=size: store_vectors.pending(c, embedder.name, n, ids)
        )
        if not todo:
            break
        chunks = [todo[i : i + batch] for i in range(0, len(todo), batch)]
        matrices = await asyncio.gather(
            *(
                embedder.run([story_text(s.title, s.text, s.extra) for s in chunk])
                for chunk in chunks
            )
        )
        for chunk, matrix in zip(chunks, matrices, strict=True):
            if matrix.shape[0] != len(chunk):
                raise ValueError(f"{embedder.name} gave {matrix.shape[0]} vectors for "
                                 f"{len(chunk)} stories")  # fmt: skip
            dim = matrix.shape[1]
            rows = [(s.item_id, s.revision, to_blob(v)) for s, v in zip(chunk, matrix, strict=True)]
            # stamped when written, not when the pass began: search processes load what was
            # stored since they last looked
            stamp = max(now, datetime.now(UTC))
            await db.write(
                lambda c, r=rows, d=dim, s=stamp: store_vectors.save(c, embedder.name, d, r, s)
            )
            if progress is not None:
                progress.advance("embed", len(chunk))
        done += len(todo)
    return done


async def fold_reposts(db: Database, model: str, ids: list[int], now: datetime) -> dict[str, int]:
    """Stories among `ids` (just embedded, not yet grouped) that repeat an earlier story of
    their own source under a new URL (`normalize.identity.is_repost`: meaning and title
    agree) fold into it as a revision or a discovery instead of standing as new stories."""
    checks = await db.read_async(lambda c: store_vectors.reposts_to_check(c, model, ids))
    folded: dict[str, int] = {}
    gone: set[int] = set()
    for row, neighbours in checks:
        vector = from_blob(row.vector, len(row.vector) // 2)
        for other in neighbours:
            if other.item_id in gone:
                continue
            cosine = float(vector @ from_blob(other.vector, len(other.vector) // 2))
            if is_repost(other.title, row.title, cosine):
                outcome = await db.write(
                    lambda c, r=row.id, o=other.item_id: repo.fold_repost(c, r, o, now)
                )
                folded[outcome] = folded.get(outcome, 0) + 1
                gone.add(row.id)
                break
    return folded
