"""How the default search scores a memory: dense similarity, raised by lexical evidence and by strong neighbours.

Every part is an absolute number, never relative to the other results of the
search, so a score means the same thing whatever else the user has stored:

1. ``dense``: the cosine similarity, clipped to [0, 1]. This alone is the score of
   ``mode="dense"``.
2. ``own = 1 - (1 - dense) * (1 - LEXICAL * sqrt(lexical))``: the lexical score (BM25
   over the most the query could score, in [0, 1]; see :mod:`agent_memory.search._lexical`)
   closes part of the gap between the dense score and 1. The square root lets a
   question's few rare shared words count even when the question is long and most of
   its words are not in the memory. With no lexical evidence
   the score is the dense score, so the ranking degrades to dense search: matching
   only the user's name, present in every memory, is worth next to nothing.
3. A memory stored in a session next to a memory with real lexical evidence
   (lexical score at least ``EVIDENCE``) is pulled ``NEIGHBOUR`` of the way up to that
   neighbour's score, never past it: in a conversation the answer is often a turn
   beside the one that shares the question's words. A neighbour ``d`` places away
   lends ``FAR ** (d - 1)`` of its score, so the nearer of two equal lenders counts
   more. Neighbours without lexical evidence lend nothing, so memories of a session
   never rise on dense similarity alone.

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

    lexical: float = 0.75
    neighbour: float = 0.7
    evidence: float = 0.15
    far: float = 0.95


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

    ``neighbours[i]`` holds the positions of memory ``i``'s session neighbours among
    the same memories, -1 where there is none: ``2 * w`` columns for the memories
    ``w, w - 1, ..., 1`` places before it, then ``1, ..., w`` places after it.
    """
    evidence = np.sqrt(np.clip(lexical, 0.0, 1.0))
    own = 1.0 - (1.0 - dense_score(similarity)) * (1.0 - weights.lexical * evidence)
    if not neighbours.size or weights.neighbour == 0:
        return own
    lenders = np.append(np.where(lexical >= weights.evidence, own, 0.0), 0.0)  # position -1 lends nothing
    best = (lenders[neighbours] * _distance_discount(neighbours.shape[1], weights.far)).max(axis=1)
    fused: NDArray[np.float64] = own + weights.neighbour * np.maximum(best - own, 0.0)
    return fused


def _distance_discount(columns: int, far: float) -> NDArray[np.float64]:
    """``far ** (d - 1)`` for each column of a neighbours array (``d``: places away)."""
    window = columns // 2
    distance = np.concatenate([np.arange(window, 0, -1), np.arange(1, window + 1)])
    discount: NDArray[np.float64] = far ** (distance - 1.0)
    return discount
