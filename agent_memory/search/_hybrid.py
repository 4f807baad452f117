"""The default (hybrid) search: dense candidates from the store, lexical candidates from an in-memory index.

Per search, for a user with ``n`` memories:

* the store's vector search (Chroma's HNSW) gives the ``CANDIDATES`` nearest memories,
  as ``mode="dense"`` does (one store query);
* the user's in-memory BM25 index scores the memories that share a term with the
  query: O(postings of the query's terms), at most O(n) for a term every memory holds;
* the ``LEXICAL_CANDIDATES`` best lexical candidates that vector search did not return,
  and the session neighbours of those with real lexical evidence, are read by id with
  their vectors (one or two look-ups; none when nothing matched lexically);
* :func:`agent_memory.search._fusion.fuse` scores the union, and the signals asked for
  (:mod:`agent_memory.search._signals`) adjust it: the candidates' vectors then come back
  with them (``hubness``), and the user's average memory is read once in a while.

No vectors are held in memory: the index keeps terms, ids and session order only.
It is kept per user, built once from the store (O(n)), then updated in place: this
process's writes apply to it directly, and other processes' writes are found through
the store's change feed, which costs one O(1) look-up per search and O(changed
memories) to apply (see :meth:`~agent_memory.store._chroma_store.ChromaStore.changes`). Indexes
are dropped least recently used first when they hold more than a byte budget.
"""

from __future__ import annotations

import bisect
import logging
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._options import MODES
from agent_memory._types import Memory, Scope, SearchHit
from agent_memory.search._entities import subject_factors
from agent_memory.search._fusion import Weights, dense_score, fuse
from agent_memory.search._lexical import LexicalIndex, tokenize
from agent_memory.search._signals import (
    CENTROID_SAMPLE,
    Centroid,
    SignalWeights,
    content_factors,
    content_terms,
    hubness_adjusted,
    stale,
)
from agent_memory.store._validity import Window, query_valid

__all__ = [
    "CANDIDATES",
    "DEFAULT_INDEX_BYTES",
    "LEXICAL_CANDIDATES",
    "MODES",
    "NEIGHBOUR_WINDOW",
    "HybridIndex",
    "UserIndex",
    "search",
]

_log = logging.getLogger("agent_memory.search")

CANDIDATES = 50
"""Memories taken from vector search (at least ``top_k``) before fusing."""
LEXICAL_CANDIDATES = 50
"""Memories taken from BM25 (at least ``2 * top_k``) before fusing."""
NEIGHBOUR_WINDOW = 2
"""How many memories before and after a memory in its session count as its neighbours."""
DEFAULT_INDEX_BYTES = 256 * 1024 * 1024
"""Default memory budget of one collection's lexical indexes in a process."""

SessionKey = tuple[str | None, str]


class UserIndex:
    """One user's memories as the hybrid search needs them: terms, scopes and session order.

    Not thread-safe: :class:`HybridIndex` locks around it.
    """

    def __init__(self, cursor: object = None) -> None:
        self.lexical = LexicalIndex()
        self.cursor = cursor  # where the store's change feed was last read
        self._slot_of: dict[str, int] = {}
        self._scope_of: list[tuple[str | None, str | None]] = []  # per slot: agent, session
        self._ids: list[str] = []
        self._sessions: dict[SessionKey, list[str]] = {}  # ids in creation order (UUIDv7 sorts by time)
        self._codes: dict[str | None, int] = {None: 0}  # agent and session ids, numbered for the masks below
        self._agent_code = np.zeros(64, dtype=np.int32)  # per slot
        self._session_code = np.zeros(64, dtype=np.int32)
        self.centroid: Centroid | None = None  # the user's average memory, for the hubness signal
        self._content = array("i")  # per slot: terms of content of a transcript line, -1 for other memories
        self._content_total = self._lines = 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def put(self, memory: Memory) -> None:
        """Add the memory, or replace the version indexed under its id."""
        self.drop(memory.id)
        terms = tokenize(memory.text)
        slot = self.lexical.add(terms)
        content = content_terms(memory.text, terms)
        self._content.append(-1 if content is None else content)
        if content is not None:
            self._content_total, self._lines = self._content_total + content, self._lines + 1
        self._slot_of[memory.id] = slot
        self._ids.append(memory.id)
        self._scope_of.append((memory.agent_id, memory.session_id))
        if slot == len(self._agent_code):
            self._agent_code = np.concatenate([self._agent_code, np.zeros_like(self._agent_code)])
            self._session_code = np.concatenate([self._session_code, np.zeros_like(self._session_code)])
        self._agent_code[slot] = self._codes.setdefault(memory.agent_id, len(self._codes))
        self._session_code[slot] = self._codes.setdefault(memory.session_id, len(self._codes))
        if memory.session_id is not None:
            bisect.insort(self._sessions.setdefault((memory.agent_id, memory.session_id), []), memory.id)

    def drop(self, memory_id: str) -> None:
        slot = self._slot_of.pop(memory_id, None)
        if slot is None:
            return
        self.lexical.remove(slot)
        if self._content[slot] >= 0:
            self._content_total, self._lines = self._content_total - self._content[slot], self._lines - 1
        agent, session = self._scope_of[slot]
        if session is not None:
            members = self._sessions[(agent, session)]
            members.pop(bisect.bisect_left(members, memory_id))
            if not members:
                del self._sessions[(agent, session)]

    @property
    def wasteful(self) -> bool:
        """Whether removed entries outnumber live ones (then rebuilding is cheaper to keep)."""
        return self.lexical.dead > max(len(self), 1000)

    def visible(self, scope: Scope) -> NDArray[np.bool_] | None:
        """The slots ``scope`` may read, where it is narrower than the whole user (else ``None``)."""
        if scope.agent_id is None and scope.session_id is None:
            return None
        slots = len(self._ids)
        mask = np.ones(slots, dtype=bool)
        for codes, wanted in ((self._agent_code, scope.agent_id), (self._session_code, scope.session_id)):
            if wanted is not None:
                mask &= codes[:slots] == self._codes.get(wanted, -1)
        return mask

    def lexical_hits(self, query: str, scope: Scope, limit: int) -> dict[str, float]:
        """The ``limit`` best lexical scores (in (0, 1]) of the scope's memories, by id. The word
        statistics are the scope's own: what another agent or session holds changes no score."""
        slots, scores = self.lexical.scores(tokenize(query), self.visible(scope))
        found: dict[str, float] = {}
        for i in np.argsort(-scores, kind="stable")[:limit]:
            found[self._ids[slots[i]]] = float(scores[i])
        return found

    def neighbours(self, memory: Memory) -> list[str | None]:
        """Ids of the ``NEIGHBOUR_WINDOW`` memories before, then after, ``memory`` in its agent's session.

        Always ``2 * NEIGHBOUR_WINDOW`` entries, nearest in the middle, None where the
        session has no memory at that place.
        """
        none: list[str | None] = [None] * NEIGHBOUR_WINDOW
        if memory.session_id is None:
            return none + none
        members = self._sessions.get((memory.agent_id, memory.session_id), [])
        at = bisect.bisect_left(members, memory.id)
        if at == len(members) or members[at] != memory.id:
            return none + none
        before: list[str | None] = [*members[max(at - NEIGHBOUR_WINDOW, 0) : at]]
        after: list[str | None] = [*members[at + 1 : at + 1 + NEIGHBOUR_WINDOW]]
        return (none + before)[-NEIGHBOUR_WINDOW:] + (after + none)[:NEIGHBOUR_WINDOW]

    def content(self, ids: list[str], visible: NDArray[np.bool_] | None = None) -> tuple[NDArray[np.float64], float]:
        """Each memory's terms of content (NaN for one that is not a transcript line, or not indexed),
        and the mean over the user's transcript lines (those ``visible`` marks, if given: a narrowed
        search's statistics are its scope's own)."""
        mean = self._content_total / self._lines if self._lines else 0.0
        if visible is not None:
            counts = np.frombuffer(self._content, dtype=np.int32)[: len(visible)]
            lines = counts[visible & (counts >= 0) & self.lexical.alive(len(visible))]
            mean = float(lines.mean()) if len(lines) else 0.0
        slots = [self._slot_of.get(i) for i in ids]
        found = [np.nan if s is None or self._content[s] < 0 else self._content[s] for s in slots]
        return np.array(found, dtype=np.float64), mean

    def nbytes(self) -> int:
        return self.lexical.nbytes() + 150 * len(self._ids)


class HybridIndex:
    """The :class:`UserIndex` of each user of one collection that this process searched, within a byte budget."""

    def __init__(self, max_bytes: int = DEFAULT_INDEX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._users: OrderedDict[str, UserIndex] = OrderedDict()
        self._writes: dict[str, int] = {}  # per user: writes applied, so a build that missed one is not kept
        self.lock = threading.RLock()

    def apply(self, user_id: str, *, put: Iterable[Memory] = (), drop: Iterable[str] = ()) -> None:
        """This process's write, applied in place where the user's index is loaded."""
        with self.lock:
            self._writes[user_id] = self._writes.get(user_id, 0) + 1
            index = self._users.get(user_id)
            if index is None:
                return
            for memory_id in drop:
                index.drop(memory_id)
            for memory in put:
                index.put(memory)
            if index.wasteful:
                del self._users[user_id]

    def forget(self, user_id: str | None = None) -> None:
        """Drop one user's index, or every user's (it is built again when needed)."""
        with self.lock:
            if user_id is None:
                self._writes = {u: n + 1 for u, n in self._writes.items()}
                self._users.clear()
            else:
                self._writes[user_id] = self._writes.get(user_id, 0) + 1
                self._users.pop(user_id, None)

    def for_user(self, store: Any, user_id: str) -> UserIndex:
        """The user's index, brought up to date with what other processes wrote (or built, the first time)."""
        with self.lock:
            index, writes = self._users.get(user_id), self._writes.get(user_id, 0)
            if index is not None:
                self._users.move_to_end(user_id)
        if index is not None:
            cursor, changed = store._changes(user_id, index.cursor)
            if changed is not None:
                current = {m.id: m for m in store.get(list(changed), Scope.of(user_id))} if changed else {}
                with self.lock:
                    for memory_id in changed:
                        index.put(current[memory_id]) if memory_id in current else index.drop(memory_id)
                    index.cursor = cursor
                return index
            with self.lock:
                self._users.pop(user_id, None)
        return self._build(store, user_id, writes)

    def _build(self, store: Any, user_id: str, writes: int) -> UserIndex:
        cursor, _ = store._changes(user_id, None)  # read before the memories: what is written after is seen next time
        index = UserIndex(cursor)
        for page in store._pages(Scope.of(user_id)):
            for memory in page:
                index.put(memory)
        _log.debug("built the lexical index of a user: %d memories, %d bytes", len(index), index.nbytes())
        with self.lock:
            if self._writes.get(user_id, 0) == writes:  # no write of this process was missed meanwhile
                self._users[user_id] = index
                self._evict()
        return index

    def _evict(self) -> None:
        total = sum(index.nbytes() for index in self._users.values())
        while len(self._users) > 1 and total > self.max_bytes:
            _, dropped = self._users.popitem(last=False)
            total -= dropped.nbytes()

    def nbytes(self) -> int:
        """About how much memory the loaded indexes hold."""
        with self.lock:
            return sum(index.nbytes() for index in self._users.values())


def search(
    store: Any,
    hybrid: HybridIndex,
    query: str,
    vector: Any,
    scope: Scope,
    where: Mapping[str, Any] | None,
    top_k: int,
    weights: Weights = Weights(),  # noqa: B008  # frozen
    window: Window | None = None,
    signals: frozenset[str] = frozenset(),
    signal_weights: SignalWeights = SignalWeights(),  # noqa: B008  # frozen
) -> list[SearchHit]:
    """The hybrid search's best ``top_k`` hits among the memories that hold in ``window``, with
    ``signals`` applied (see the module's docstring for its steps)."""
    index = hybrid.for_user(store, scope.user_id)
    pool = max(top_k, CANDIDATES)
    if scope.agent_id is not None or scope.session_id is not None:
        signals = signals - {"hubness"}  # its centroid is the whole user's: nothing the scope may not read counts
    vectors: dict[str, NDArray[np.float32]] | None = {} if "hubness" in signals else None
    found = {m.id: (m, s) for m, s in query_valid(store, vector, scope, where, pool, window, vectors)}
    kept = window.keeps if window is not None else lambda _: True
    with hybrid.lock:
        lexical = index.lexical_hits(query, scope, max(2 * top_k, LEXICAL_CANDIDATES) * (4 if where else 1))
    lenders = [found[i][0] for i in lexical if i in found and lexical[i] >= weights.evidence]
    wanted = [i for i in lexical if i not in found]
    if wanted:
        extra = [
            (m, s) for m, s in store._similarities(vector, wanted, scope, filters=where, vectors=vectors) if kept(m)
        ]
        found.update((m.id, (m, s)) for m, s in extra)
        lenders += [m for m, _ in extra if lexical[m.id] >= weights.evidence]
    with hybrid.lock:
        near = list(dict.fromkeys(n for m in lenders for n in index.neighbours(m) if n and n not in found))
    if near:
        near_hits = store._similarities(vector, near, scope, filters=where, vectors=vectors)
        found.update((m.id, (m, s)) for m, s in near_hits if kept(m))
    asked = _Signals(query, signals, signal_weights, vectors, scope)
    if vectors is not None:
        asked.centroid = _centroid(store, hybrid, index, scope.user_id)
    with hybrid.lock:
        return _ranked(index, list(found.values()), lexical, weights, top_k, asked)


class _Signals:
    """What the signals asked for need: the query, the candidates' vectors and the user's centroid."""

    def __init__(
        self,
        query: str,
        names: frozenset[str],
        weights: SignalWeights,
        vectors: dict[str, NDArray[np.float32]] | None,
        scope: Scope,
    ) -> None:
        self.query, self.names, self.weights, self.vectors, self.scope = query, names, weights, vectors, scope
        self.centroid: Centroid | None = None

    def similarity(
        self, candidates: list[tuple[Memory, float]], similarity: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        if self.vectors is None:
            return similarity
        found = [self.vectors.get(m.id) for m, _ in candidates]
        return hubness_adjusted(similarity, found, self.centroid, self.weights.hubness)

    def factors(self, index: UserIndex, candidates: list[tuple[Memory, float]]) -> NDArray[np.float64]:
        factors = np.ones(len(candidates))
        if "content" in self.names:
            terms, mean = index.content([m.id for m, _ in candidates], index.visible(self.scope))
            factors *= content_factors(terms, mean, self.weights)
        if "subject" in self.names:
            factors *= subject_factors(self.query, [m.text for m, _ in candidates], self.weights.subject)
        return factors


def _centroid(store: Any, hybrid: HybridIndex, index: UserIndex, user_id: str) -> Centroid | None:
    """The user's centroid, read from the store when there is none yet or the user's count moved."""
    with hybrid.lock:
        count, centroid = len(index), index.centroid
    if stale(centroid, count):
        centroid = Centroid.of(store._user_vectors(user_id, CENTROID_SAMPLE, count), count)
        with hybrid.lock:
            index.centroid = centroid
    return centroid


def _ranked(
    index: UserIndex,
    candidates: list[tuple[Memory, float]],
    lexical: Mapping[str, float],
    weights: Weights,
    top_k: int,
    signals: _Signals | None = None,
) -> list[SearchHit]:
    position = {m.id: i for i, (m, _) in enumerate(candidates)}
    neighbours = np.array(
        [[position.get(n, -1) if n else -1 for n in index.neighbours(m)] for m, _ in candidates],
        dtype=np.intp,
    ).reshape(len(candidates), 2 * NEIGHBOUR_WINDOW)
    similarity = np.array([s for _, s in candidates], dtype=np.float64)
    lexical_scores = np.array([lexical.get(m.id, 0.0) for m, _ in candidates])
    if signals is None:
        scores = fuse(similarity, lexical_scores, neighbours, weights)
    else:
        scores = fuse(signals.similarity(candidates, similarity), lexical_scores, neighbours, weights)
        scores = scores * signals.factors(index, candidates)
    order = np.lexsort((-similarity, -lexical_scores, -scores))[:top_k]  # ties: word evidence, then cosine
    return [SearchHit(candidates[i][0], float(scores[i]), float(similarity[i])) for i in order]


def dense_hits(pairs: Iterable[tuple[Memory, float]]) -> list[SearchHit]:
    """Dense search's hits: the score is the cosine similarity clipped to [0, 1]."""
    return [SearchHit(m, float(dense_score(np.float64(s))), s) for m, s in pairs]
