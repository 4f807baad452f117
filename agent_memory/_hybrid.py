"""Hybrid search: BM25 over a user's memories, fused with dense similarity, and neighbouring turns.

On conversational memory, names and exact terms matter as much as meaning:
on LoCoMo, BM25 alone finds a quarter more of the evidence than vector search
with the same small embedding model (see ``benchmarks/locomo_recall.py``). So a
hybrid search scores every memory of the user both ways, standardises the two
score lists (z-scores over the user's memories), and adds them with equal
weights. A memory stored in a session then also gets half of the best fused
score among its neighbours in that session (the two memories stored just before
and the two just after it): in a conversation the answer is often a turn next to
the one that shares the question's words. Each of these steps was kept because it raised
recall@10 on LoCoMo; the README has the figures.

The index is derived from the Chroma store, never the other way round: it is
built per user from the stored texts and vectors, dropped when this process
writes to that user, and rebuilt when the user's ids in the store no longer
match (another process wrote), so it cannot drift and a crash loses nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._records import Scope
from agent_memory._types import Memory

if TYPE_CHECKING:
    import bm25s

__all__ = ["DENSE_WEIGHT", "MODES", "NEIGHBOUR_WEIGHT", "NEIGHBOUR_WINDOW", "HybridIndex", "UserIndex"]

MODES = ("hybrid", "dense")
"""Search modes: ``hybrid`` (the default: BM25 + dense + neighbouring turns) and ``dense`` (vectors only)."""
DENSE_WEIGHT = 0.5
"""Weight of the standardised dense scores; BM25's is ``1 - DENSE_WEIGHT``."""
NEIGHBOUR_WEIGHT = 0.5
"""Share of the best neighbour's fused score (when positive) that a memory in a session receives."""
NEIGHBOUR_WINDOW = 2
"""How many memories before and after a memory in its session count as its neighbours."""


def _tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    tokens: list[list[str]] = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )
    return tokens


_NO_SPREAD = 1e-6
"""Score lists spread less than this carry no ranking, only rounding noise that z-scores would blow up."""


def _standardise(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    spread = scores.std()
    if not np.isfinite(spread) or spread < _NO_SPREAD:
        return np.zeros_like(scores)
    standard: NDArray[np.float64] = (scores - scores.mean()) / spread
    return standard


def _neighbours(memories: Sequence[Memory]) -> NDArray[np.intp]:
    """For each memory, the indices of the memories up to ``NEIGHBOUR_WINDOW`` places before and
    after it in the same agent and session, in creation order; -1 where there is none."""
    sessions: dict[tuple[str | None, str], list[int]] = {}
    for i, memory in enumerate(memories):  # memories come in creation order
        if memory.session_id is not None:
            sessions.setdefault((memory.agent_id, memory.session_id), []).append(i)
    offsets = [d for d in range(-NEIGHBOUR_WINDOW, NEIGHBOUR_WINDOW + 1) if d]
    neighbours = np.full((len(memories), len(offsets)), -1, dtype=np.intp)
    for members in sessions.values():
        for position, i in enumerate(members):
            for column, offset in enumerate(offsets):
                if 0 <= position + offset < len(members):
                    neighbours[i, column] = members[position + offset]
    return neighbours


@dataclass(frozen=True)
class UserIndex:
    """One user's memories (in creation order), their vectors, BM25 index and session neighbours."""

    memories: list[Memory]
    vectors: NDArray[np.float32]
    bm25: bm25s.BM25 | None
    neighbours: NDArray[np.intp]

    @classmethod
    def build(cls, memories: list[Memory], vectors: NDArray[np.float32]) -> UserIndex:
        import bm25s

        order = sorted(range(len(memories)), key=lambda i: memories[i].id)  # UUIDv7 ids sort by creation
        memories = [memories[i] for i in order]
        vectors = vectors[order] if len(order) else vectors
        tokens = _tokenize([m.text for m in memories])
        bm25 = None
        if any(tokens):
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        return cls(memories, vectors, bm25, _neighbours(memories))

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(m.id for m in self.memories)

    def rank(
        self, query: str, vector: NDArray[np.float32], allowed: NDArray[np.bool_], top_k: int
    ) -> list[tuple[Memory, float, float]]:
        """``(memory, hybrid score, cosine similarity)`` of the best ``top_k`` allowed memories."""
        if not self.memories:
            return []
        dense = (self.vectors @ vector).astype(np.float64)
        fused = DENSE_WEIGHT * _standardise(dense) + (1 - DENSE_WEIGHT) * _standardise(self._lexical(query))
        fused = fused + NEIGHBOUR_WEIGHT * self._best_neighbour(fused)
        fused[~allowed] = -np.inf
        best = [i for i in np.argsort(-fused, kind="stable")[:top_k] if allowed[i]]
        return [(self.memories[i], float(fused[i]), float(dense[i])) for i in best]

    def _lexical(self, query: str) -> NDArray[np.float64]:
        tokens = _tokenize([query])[0]
        if self.bm25 is None or not tokens:
            return np.zeros(len(self.memories))
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float64)

    def _best_neighbour(self, fused: NDArray[np.float64]) -> NDArray[np.float64]:
        padded = np.append(fused, -np.inf)  # index -1 (no neighbour) reads -inf
        best = padded[self.neighbours].max(axis=1, initial=-np.inf)
        # Only a boost: weak neighbours must not rank a session's memory below one stored without a session.
        boost: NDArray[np.float64] = np.maximum(best, 0.0)
        return boost


class HybridIndex:
    """Per-user :class:`UserIndex` objects for one collection, least recently used dropped first."""

    def __init__(self, max_users: int = 64) -> None:
        self.max_users = max_users
        self._users: OrderedDict[str, UserIndex] = OrderedDict()
        self._generation = 0  # bumped by every invalidation: a build that saw an older one is not kept
        self._lock = threading.Lock()

    def invalidate(self, user_id: str | None = None) -> None:
        """Forget one user's index (after a write to that user), or every user's."""
        with self._lock:
            self._generation += 1
            if user_id is None:
                self._users.clear()
            else:
                self._users.pop(user_id, None)

    def for_user(self, store: Any, user_id: str) -> UserIndex:
        """The user's index, rebuilt from ``store`` when this process has none or the ids changed."""
        current = store.ids(Scope.of(user_id))
        with self._lock:
            index, generation = self._users.get(user_id), self._generation
            if index is not None and index.ids == frozenset(current):
                self._users.move_to_end(user_id)
                return index
        memories, vectors = store.snapshot(Scope.of(user_id))
        index = UserIndex.build(memories, vectors)
        with self._lock:
            if generation == self._generation:  # no write since the snapshot was taken
                self._users[user_id] = index
                while len(self._users) > self.max_users:
                    self._users.popitem(last=False)
        return index
