"""One search, stage by stage: first-stage retrieval (hybrid or dense), a time the query names,
recency, then the reranker. :meth:`MemorySystem.search_memory` checks the input and embeds the
query; this module ranks."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from agent_memory._times import epoch_ms
from agent_memory._types import Scope, SearchHit
from agent_memory.search._hybrid import CANDIDATES, HybridIndex, dense_hits, search
from agent_memory.search._kinds import asked_kind, kind_of
from agent_memory.search._rerank import Reranker, rerank_hits
from agent_memory.search._signals import DEFAULT_SIGNALS
from agent_memory.search._time_rank import favour_range, favour_recent
from agent_memory.search._when import TimeRange
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._validity import Window, query_valid

__all__ = ["Request", "Searcher"]


@dataclass(frozen=True)
class Request:
    """A checked search: the query and its vector, whose memories, how many, and which times."""

    query: str
    vector: Any
    scope: Scope
    where: Any
    mode: str
    top_k: int
    instruction: str
    window: Window | None  # what holds now (default), held at ``as_of``, or everything (None)
    named: TimeRange | None  # a time the query names, when time-aware
    half_life: timedelta | None
    now: datetime
    min_score: float | None
    signals: frozenset[str] = DEFAULT_SIGNALS  # the hybrid search's optional signals (search/_signals.py)


@dataclass(frozen=True)
class Searcher:
    """The stages over one store and its lexical index."""

    store: ChromaStore
    index: HybridIndex
    reranker: Reranker | None
    rerank_candidates: int

    def run(self, request: Request) -> list[SearchHit]:
        """The request's hits, best first, at most ``top_k``, none below ``min_score``."""
        top_k = request.top_k
        wanted = max(top_k, self.rerank_candidates) if self.reranker is not None else top_k
        wanted = wanted if request.half_life is None else max(wanted, 3 * top_k)
        hits = self._in_time(request, wanted)
        if request.half_life is not None:
            hits = favour_recent(hits, request.half_life, epoch_ms(request.now))
        if self.reranker is not None:
            hits = rerank_hits(self.reranker, request.query, request.instruction, hits)
        return [h for h in hits[:top_k] if request.min_score is None or h.score >= request.min_score]

    def _in_time(self, request: Request, wanted: int) -> list[SearchHit]:
        """First-stage hits; with a time named, what held in that span first, then (if too few did)
        what holds now."""
        stage = functools.partial(self._first_stage, request)
        named = request.named
        if named is None:
            return stage(request.query, wanted, request.window)
        span = Window(named.start_ms, named.end_ms, as_stored=True)
        # the words left; every candidate, so that the span's ranking (not the words' alone) decides which stay
        timed = stage(named.without_phrase(request.query), max(wanted, 3 * request.top_k, CANDIDATES), span)
        ranked = favour_range(timed, span, kind_of, asked_kind(request.query))
        hits = [replace(h, time_range=(named.start, named.end)) for h in ranked]
        if len(hits) < wanted:
            seen = {h.memory.id for h in hits}
            hits += [h for h in stage(request.query, wanted, request.window) if h.memory.id not in seen]
        return hits

    def _first_stage(self, request: Request, words: str, top_k: int, window: Window | None) -> list[SearchHit]:
        vector, scope, where = request.vector, request.scope, request.where
        if request.mode == "dense":
            return dense_hits(query_valid(self.store, vector, scope, where, top_k, window))
        return search(
            self.store, self.index, words, vector, scope, where, top_k, window=window, signals=request.signals
        )
