"""How the default search scores a memory: dense similarity, raised by lexical evidence and by strong neighbours.

Every part is an absolute number, never relative to the other results of the
search, so a score means the same thing whatever else the user has stored:

1. ``dense``: the cosine similarity, clipped to [0, 1]. This alone is the score of
   ``mode="dense"``.
2. ``own = 1 - (1 - dense) * (1 - LEXICAL * lexical)``: the lexical score (BM25 over
   the most the query could score, in [0, 1]; see :mod:`agent_memory._lexical`)
   closes part of the gap between the dense score and 1. With no lexical evidence
   the score is the dense score, so the ranking degrades to dense search: matching
   only the user's name, present in every memory, is worth next to nothing.
3. A memory stored in a session next to a memory with real lexical evidence
   (lexical score at least ``EVIDENCE``) is pulled ``NEIGHBOUR`` of the way up to that
   neighbour's score, never past it: in a conversation the answer is often a turn
   beside the one that shares the question's words. Neighbours without lexical
   evidence lend nothing, so memories of a session never rise on dense similarity
   alone.

The result stays in [0, 1]. The weights were chosen on the tuning half of each store
shape (``benchmarks/tune_search.py``) and are reported on the other half.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Weights", "dense_score", "fuse"]


@dataclass(frozen=True)
class Weights:
    """The default search's three weights (see the module's docstring)."""

    lexical: float = 0.8
    neighbour: float = 0.7
    evidence: float = 0.15


def dense_score(similarity: NDArray[np.float64]) -> NDArray[np.float64]:
    """The dense search's score: the cosine similarity clipped to [0, 1]."""
    return np.clip(similarity, 0.0, 1.0)


def fuse(
    similarity: NDArray[np.float64],
    lexical: NDArray[np.float64],
    neighbours: NDArray[np.intp],
    weights: Weights = Weights(),  # frozen, so one shared default is safe
) -> NDArray[np.float64]:
    """Scores in [0, 1] of memories with these cosine similarities and lexical scores.

    ``neighbours[i]`` lists the positions of memory ``i``'s session neighbours among
    the same memories, -1 where there is none.
    """
    own = 1.0 - (1.0 - dense_score(similarity)) * (1.0 - weights.lexical * np.clip(lexical, 0.0, 1.0))
    if not neighbours.size or weights.neighbour == 0:
        return own
    lenders = np.append(np.where(lexical >= weights.evidence, own, 0.0), 0.0)  # position -1 lends nothing
    best = lenders[neighbours].max(axis=1)
    fused: NDArray[np.float64] = own + weights.neighbour * np.maximum(best - own, 0.0)
    return fused
