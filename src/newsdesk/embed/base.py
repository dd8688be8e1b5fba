"""The embedder interface and the vectors it makes.

An embedder turns texts into an `(n, d)` float32 matrix whose rows have unit length, and says
which model made them (`name`) and their dimension (`dim`). Both are stored beside every
vector, and vectors of two models are never compared: `check` refuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# What a story is embedded as: its title and the start of its text. The model averages over
# tokens, so a long body drowns the title; 300 characters keep the lead paragraph (and cost
# about 4 ms of CPU per story with the bundled model).
TEXT_CHARS = 300


class ModelMismatch(ValueError):
    """Vectors of another model or dimension were offered where these are kept."""


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Vectors:
    """Rows of one model: `matrix[i]` is the vector of `ids[i]`."""

    model: str
    dim: int
    ids: np.ndarray  # int64
    matrix: np.ndarray  # float32, unit rows

    def check(self, model: str, dim: int) -> None:
        check_same(self.model, self.dim, model, dim)


def check_same(model: str, dim: int, other_model: str, other_dim: int) -> None:
    if (model, dim) != (other_model, other_dim):
        raise ModelMismatch(
            f"vectors of {other_model} ({other_dim} dimensions) cannot be compared with "
            f"vectors of {model} ({dim} dimensions); run `newsdesk embed rebuild`"
        )


def story_text(title: str, text: str, extra: str = "") -> str:
    """Title and lead; a body shorter than TEXT_CHARS (an episode's two-line show notes) is
    followed by `extra` (its chapter titles and transcript opening)."""
    body = " ".join(text.split())
    if extra and len(body) < TEXT_CHARS:
        body = f"{body} {' '.join(extra.split())}".strip()
    body = body[:TEXT_CHARS]
    title = " ".join(title.split())
    return f"{title}\n{body}" if body and not body.startswith(title) else body or title


def normalise(rows: np.ndarray | Sequence[Sequence[float]], dim: int | None = None) -> np.ndarray:
    """Float32 rows of unit length; a zero row stays zero (it matches nothing)."""
    matrix = np.asarray(rows, dtype=np.float32)
    if matrix.ndim != 2 or (dim is not None and matrix.shape[1] != dim):
        shape = "x".join(map(str, matrix.shape))
        raise ModelMismatch(f"expected rows of {dim} numbers, got an array of shape {shape}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


def to_blob(vector: np.ndarray) -> bytes:
    """Stored as float16 (2 bytes a dimension): cosines move by < 0.001, the table halves."""
    return np.asarray(vector, dtype="<f2").tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    vector = np.frombuffer(blob, dtype="<f2")
    if vector.shape[0] != dim:
        raise ModelMismatch(f"a stored vector has {vector.shape[0]} numbers, expected {dim}")
    return vector.astype(np.float32)
