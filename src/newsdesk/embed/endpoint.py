"""Vectors from an OpenAI-compatible embeddings endpoint (`NEWSDESK_EMBED_MODEL` and friends).

The call itself is the editor's paid client (receipts, budgets, usage); the runner hands its
`embed` coroutine in, so this module stays free of the editor. Answers are checked: every text
gets a row, every row has the dimension of the first answer (or of `NEWSDESK_EMBED_DIMENSIONS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from newsdesk.embed.base import ModelMismatch, normalise

Call = Callable[[list[str]], Awaitable[list[list[float]]]]


def endpoint_name(model: str) -> str:
    return f"endpoint/{model}"


class EndpointEmbedder:
    def __init__(self, model: str, call: Call, dim: int = 0) -> None:
        self.name = endpoint_name(model)
        self.dim = dim  # 0: learnt from the first answer
        self._call = call

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = await self._call(list(texts))
        if len(rows) != len(texts):
            raise ModelMismatch(f"the endpoint answered {len(rows)} vectors for {len(texts)} texts")
        matrix = normalise(rows, self.dim or None)
        self.dim = matrix.shape[1]
        return matrix
