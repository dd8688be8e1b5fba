"""Meaning on the laptop: the embedder interface, the bundled multilingual model, vector search.

`embed` imports `domain` and `config` only. Stages receive vectors as arguments (grouping never
loads a model); the runner embeds stories in its CPU pool, and `publish` may embed a query.
"""

from newsdesk.embed.base import Embedder, ModelMismatch, Vectors, story_text
from newsdesk.embed.index import VectorIndex

__all__ = ["Embedder", "ModelMismatch", "VectorIndex", "Vectors", "story_text"]
