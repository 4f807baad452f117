"""The character-frequency embeddings of LangGraph's store tests, for both stores under test.

A rewrite of ``CharacterEmbeddings`` in langgraph's ``libs/checkpoint-sqlite/tests/test_store.py``
(MIT, LangChain, Inc.): a text's vector is the frequency-weighted sum of a random projection per
character, so texts sharing characters are close. :class:`CharacterEmbeddings` serves it to
LangGraph's ``InMemoryStore`` (a LangChain ``Embeddings``), :class:`CharacterEmbedder` to
agent-memory (an ``Embedder``): the two stores see the same vectors.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray

from agent_memory.embeddings import Fingerprint

__all__ = ["DIMS", "CharacterEmbedder", "CharacterEmbeddings", "character_vector"]

DIMS = 500
_RNG = random.Random(42)
_PROJECTIONS: dict[str, list[float]] = {}


def character_vector(text: str) -> list[float]:
    counts = Counter(text)
    total = sum(counts.values())
    vector = [0.0] * DIMS
    for char, count in counts.items():
        projection = _PROJECTIONS.setdefault(char, [_RNG.gauss(0, 1 / math.sqrt(DIMS)) for _ in range(DIMS)])
        for i, p in enumerate(projection):
            vector[i] += count / total * p
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


class CharacterEmbeddings(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [character_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return character_vector(text)


class CharacterEmbedder:
    """The same vectors as an agent-memory embedder; queries get no instruction (the characters
    of one would drown the query's)."""

    dimension = DIMS
    fingerprint = Fingerprint(model="character-embeddings", dimension=DIMS, query_format="none")

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return np.array([character_vector(t) for t in texts], dtype=np.float32).reshape(len(texts), DIMS)

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        return self.embed_documents(queries)
