"""The reading half of :class:`~agent_memory.MemorySystem`: search, look-ups, listings, the
history and export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from agent_memory._errors import ValidationError
from agent_memory._ids import key_id
from agent_memory._options import MODES
from agent_memory._tasks import resolve_task
from agent_memory._times import check_time
from agent_memory._transfer import export_lines
from agent_memory._types import Memory, Scope, SearchHit
from agent_memory._validation import (
    Limits,
    check_at_most,
    check_choice,
    check_filters,
    check_id,
    check_ids,
    check_key,
    check_keys,
    check_min_score,
    check_query,
    check_times,
)
from agent_memory.embeddings import Embedder
from agent_memory.search._hybrid import HybridIndex
from agent_memory.search._pipeline import Request, Searcher
from agent_memory.search._rerank import Reranker
from agent_memory.search._signals import check_signals
from agent_memory.search._time_rank import check_half_life
from agent_memory.search._when import named_time
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._history import History, HistoryEvent
from agent_memory.store._validity import window_of, with_times

__all__ = ["Reading", "key_id_in", "named_ids"]


class Reading:
    """What :class:`~agent_memory.MemorySystem` reads with (set up by its constructor)."""

    limits: Limits
    store: ChromaStore
    embedder: Embedder
    task: str
    reranker: Reranker | None
    rerank_candidates: int
    history_log: History
    _index: HybridIndex

    if TYPE_CHECKING:

        def _embed_queries(self, queries: list[str], task: str) -> Any: ...

    # -- reading -------------------------------------------------------------------------

    def search_memory(
        self,
        query: str,
        *,
        user_id: str,
        top_k: int = 5,
        task: str | None = None,
        filters: Mapping[str, Any] | None = None,
        min_score: float | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        mode: str = "hybrid",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        tz: str | tzinfo | None = None,
        time_aware: bool = True,
        now: datetime | str | None = None,
        as_of: datetime | str | None = None,
        include_expired: bool = False,
        recency_half_life: timedelta | float | None = None,
        signals: Iterable[str] | None = None,
    ) -> list[SearchHit]:
        """The user's memories most relevant to ``query``, best first.

        ``score`` is a relevance in [0, 1], comparable across queries, so one ``min_score``
        threshold means the same thing for every search (hits below it are dropped):

        * ``mode="hybrid"`` (the default): the cosine similarity, raised by BM25 evidence
          (the query's rarer words found in the memory) and, for a memory stored in a
          session, by a neighbouring memory with such evidence; with no word evidence it
          is the dense score. Then ``signals`` adjust it, each by a fixed rule (all three by
          default; ``signals=()`` turns them off): ``"hubness"`` (a memory close to all of the
          user's memories counts its closeness to the query for less), ``"content"`` (a
          transcript line, ``"Name: text"``, with few words of content next to the user's
          typical line loses up to 30%) and ``"subject"`` (when the query names a person, a
          memory about someone else loses 10%). The best choice on every store shape measured
          (docs: performance).
        * ``mode="dense"``: the cosine similarity, clipped to [0, 1].
        * With a ``reranker``, the first stage's best candidates are re-scored and
          ``score`` is the reranker's probability that the memory answers the query.

        ``similarity`` is always the raw cosine similarity. The query is embedded with the
        task instruction (``task``, else the system's default task); ``filters`` (Chroma
        ``where`` syntax) narrow the user's memories and can never widen them.
        ``since``/``until`` keep memories stored from ``since`` (inclusive) to ``until``
        (exclusive): datetimes or ISO 8601 strings, naive ones read in ``tz`` (an IANA
        name; default: the zone ``AGENT_MEMORY_TZ`` names, else UTC, on every surface).

        Only memories that hold now (not expired) are searched, unless ``as_of`` (a datetime
        or ISO 8601) asks for what held then, or ``include_expired=True`` for everything.
        With ``time_aware`` (the default: it helps on every set measured, see the README), a
        time the query names ("in 2022", "last week", "上周", "去年五月"), read against ``now``
        (default: the current time) in ``tz``, replaces that default: the memories that held
        at some time in that span come first (one with no ``valid_from`` counts from when it
        was stored; those known to belong to the span before those that merely still held),
        each carrying the span as ``time_range``; when fewer than ``top_k`` did, the best of
        what holds now follow, without it. ``time_aware=False`` reads time words as words.

        ``recency_half_life`` (a ``timedelta`` or days; off by default) prefers recent memories:
        a memory that began that long before ``now`` loses 10% of its score, a very old one 20%
        (measured in the README: it helps where answers are the latest facts, and costs where
        they are not, so it is not the default).
        """
        check_query(query, self.limits)
        scope = Scope.of(user_id, agent_id, session_id)
        top_k, mode = check_at_most(top_k, "top_k", self.limits), check_choice(mode, MODES, "mode")
        instruction = self.task if task is None else resolve_task(check_query(task, self.limits, "task"))
        check_times(self.limits, tz, since=since, until=until, now=now, as_of=as_of)
        window = window_of(as_of, include_expired, tz)
        asked = time_aware and as_of is None and not include_expired and since is None and until is None
        where = with_times(check_filters(filters, self.limits), since, until, tz)
        threshold, chosen = check_min_score(min_score), check_signals(signals)
        named = named_time(query, now, tz) if asked else None
        half_life, moment = check_half_life(recency_half_life), check_time(now, "now", tz)
        self.store._check_fingerprint(self.embedder.fingerprint)
        request = Request(
            query=query,
            vector=self._embed_queries([query], instruction)[0],
            scope=scope,
            where=where,
            mode=mode,
            top_k=top_k,
            instruction=instruction,
            window=window,
            named=named,
            half_life=half_life,
            now=moment or datetime.now(timezone.utc),
            min_score=threshold,
            signals=chosen,
        )
        return Searcher(self.store, self._index, self.reranker, self.rerank_candidates).run(request)

    def get_memory(self, memory_id: str, *, user_id: str) -> Memory | None:
        """The memory with this id, or ``None`` if the user has none with it."""
        found = self.store.get([check_id(memory_id)], Scope.of(user_id))
        return found[0] if found else None

    def get_memories(
        self,
        *,
        user_id: str,
        ids: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> list[Memory]:
        """The user's memories with these ``ids`` (narrowed by agent/session if given), or stored under
        these ``keys`` in exactly this scope (one of the two; expired ones too), in the order asked;
        missing ones are left out."""
        scope, memory_ids = named_ids(self.limits, user_id, ids, keys, agent_id, session_id)
        return [m for m in self.store.get(memory_ids, scope) if keys is None or scope.holds_exactly(m)]

    def get_memory_by_key(
        self, key: str, *, user_id: str, agent_id: str | None = None, session_id: str | None = None
    ) -> Memory | None:
        """The memory :meth:`put_memory` stored under ``key`` in exactly this scope (expired or not),
        or ``None``."""
        found = self.get_memories(user_id=user_id, keys=[check_key(key)], agent_id=agent_id, session_id=session_id)
        return found[0] if found else None

    def list_memories(
        self,
        *,
        user_id: str,
        limit: int | None = None,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        tz: str | tzinfo | None = None,
        order: str = "oldest",
        as_of: datetime | str | None = None,
        include_expired: bool = False,
    ) -> list[Memory]:
        """The user's memories in the order they were stored (``order="newest"`` for the latest
        first), a page at a time if ``limit`` is set; ``since``/``until``, ``as_of`` and
        ``include_expired`` as in :meth:`search_memory` (by default, expired memories are left out)."""
        scope = Scope.of(user_id, agent_id, session_id)
        limit = None if limit is None else check_at_most(limit, "limit", self.limits)
        offset = check_at_most(offset, "offset", self.limits)
        newest = check_choice(order, ("oldest", "newest"), "order") == "newest"
        check_times(self.limits, tz, since=since, until=until, as_of=as_of)
        where = with_times(check_filters(filters, self.limits), since, until, tz)
        window = window_of(as_of, include_expired, tz)
        where = where if window is None else window.narrow(where)
        return self.store._list_memories(scope, filters=where, limit=limit, offset=offset, newest=newest)

    def iter_memories(self, *, user_id: str, page_size: int | None = None) -> Iterator[Memory]:
        """Every memory of the user, expired ones too, fetched a page at a time (for export and bulk
        work; ``page_size`` default: 1,000, or the ``max_limit`` of this system's limits if lower)."""
        size = min(1000, self.limits.max_limit) if page_size is None else page_size
        pages = self.store._pages(Scope.of(user_id), check_at_most(size, "page_size", self.limits))
        return (m for page in pages for m in page)

    def export_memories(self, *, user_id: str, vectors: bool = False) -> Iterator[dict[str, object]]:
        """The user's memories, expired ones too, as JSON-able lines (:meth:`Memory.to_dict`; with
        ``vectors``, also ``vector``, ``model`` and ``dimension``), a page at a time: what
        ``agent-memory export`` writes and :meth:`import_memories` reads back."""
        return export_lines(self.store, Scope.of(user_id).user_id, vectors=vectors)

    def history(self, memory_id: str, *, user_id: str) -> list[HistoryEvent]:
        """Every recorded change of the memory (create, update, delete), oldest first.

        Still there after the memory is deleted; empty for another user's id.
        """
        return self.history_log.for_memory(check_id(memory_id), Scope.of(user_id).user_id)


def key_id_in(scope: Scope, key: str) -> str:
    """The id of the memory ``key`` names in exactly ``scope``."""
    return key_id(scope.user_id, scope.agent_id, scope.session_id, key)


def named_ids(
    limits: Limits, user_id: str, ids: object, keys: object, agent_id: str | None, session_id: str | None
) -> tuple[Scope, list[str]]:
    """The scope, and the memory ids that ``ids`` or (in that exact scope) ``keys`` name, each once
    in the order first named (Chroma refuses a repeated id; asking twice is no error)."""
    scope = Scope.of(user_id, agent_id, session_id)
    if (ids is None) == (keys is None):
        raise ValidationError("pass either ids= or keys=")
    if keys is None:
        return scope, list(dict.fromkeys(check_ids(ids, limits)))
    return scope, list(dict.fromkeys(key_id_in(scope, k) for k in check_keys(keys, limits)))
