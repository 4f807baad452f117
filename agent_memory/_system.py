"""``MemorySystem``: the one entry point, tying an embedder to a store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from types import TracebackType
from typing import Any

from agent_memory import _config
from agent_memory._errors import ConfigurationError, ValidationError
from agent_memory._ids import now_ms
from agent_memory._tasks import TASKS, resolve_task
from agent_memory._times import check_time
from agent_memory._types import Memory, MemoryStats, MetadataValue, Scope, SearchHit
from agent_memory._validation import (
    check_actor,
    check_choice,
    check_filters,
    check_id,
    check_kind,
    check_metadata,
    check_metadatas,
    check_min_score,
    check_non_negative,
    check_positive,
    check_text,
    check_texts,
)
from agent_memory._writer import Writer, release_parts, shared_parts
from agent_memory.embeddings import Embedder, EmbeddingCache, create_embedder
from agent_memory.embeddings._base import BaseEmbedder, check_vectors
from agent_memory.embeddings._factory import check_embedder
from agent_memory.extraction._extractor import Extractor, Message
from agent_memory.extraction._remember import MemoryChange, remember
from agent_memory.search._hybrid import DEFAULT_INDEX_BYTES, MODES
from agent_memory.search._pipeline import Request, Searcher
from agent_memory.search._rerank import Reranker, as_reranker
from agent_memory.search._signals import check_signals
from agent_memory.search._when import named_time
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._history import History, HistoryEvent
from agent_memory.store._placement import history_of, open_store, shared_key
from agent_memory.store._validity import check_half_life, check_validity, window_of, with_times

__all__ = ["MemorySystem"]


class MemorySystem:
    """Long-term memory for an agent: store facts about users, find them again by meaning.

    Memories are embedded **without** an instruction; queries **with** the task
    instruction (``Instruct: {task}\\nQuery:{query}``), which is how Qwen3-Embedding
    retrieves best. Every call takes a ``user_id`` and only ever sees that user's
    memories; ``agent_id`` and ``session_id`` narrow the scope further.

    Args:
        model: hub id or local path of the embedding model (default: ``AGENT_MEMORY_MODEL``,
            else ``Qwen/Qwen3-Embedding-0.6B``). Loaded on first use, once per process.
        path: Chroma data directory (default: ``AGENT_MEMORY_PATH``, else the per-user data
            directory); ``":memory:"`` for a private in-memory store.
        chroma_url: a Chroma server (``http://host:8000``) instead of an embedded store (default:
            ``AGENT_MEMORY_CHROMA_URL``); ``chroma_headers`` carry its token
            (``{"Authorization": "Bearer ..."}``), ``tenant``/``database`` choose where on it.
        collection: Chroma collection name.
        dimensions: Matryoshka output size (32..model size): vectors are cut and re-normalised.
        device: ``cpu``, ``cuda``, ``mps``... (default: ``AGENT_MEMORY_DEVICE``, else automatic).
        task: default search task: a key of ``TASKS`` or an instruction sentence.
        backend: how the model runs (default: ``AGENT_MEMORY_BACKEND``, else ``"auto"``):
            ``"transformers"`` (agent-memory's padding-free Qwen3 engine; what ``"auto"`` picks
            for Qwen3 models), ``"sentence-transformers"`` (any model; ``"auto"`` for the rest),
            ``"vllm"`` (in-process vLLM) or ``"openai"`` (any OpenAI-compatible embeddings server).
        base_url: the server for the openai backend (default: ``AGENT_MEMORY_BASE_URL``), e.g.
            ``http://127.0.0.1:8000/v1`` for ``vllm serve``.
        api_key: the server's key, if it wants one (default: ``AGENT_MEMORY_API_KEY``).
        backend_options: the backend's own options (``dtype``, ``max_batch_tokens``, vLLM's
            ``max_model_len``, ...).
        embedder: any :class:`~agent_memory.embeddings.Embedder`, instead of model/backend options.
        store: a :class:`~agent_memory.ChromaStore` made over a Chroma client of your own, instead of
            path/collection. Chroma is the one store: the guarantees rest on its features (docs: concepts).
        cache_size: vectors kept in memory (least recently used out), so that a repeated
            query or a text embedded before in this process does not run the model again;
            0 turns the cache off.
        reranker: a second stage for searches: a Qwen3-Reranker hub id or path (run by
            :class:`Qwen3Reranker`), or any :class:`Reranker`. It re-scores the first stage's
            best ``rerank_candidates`` memories; off by default (see the README: it is not
            measured here, for want of real reranker weights offline).
        history_path: the SQLite file of the change history (default: ``history.sqlite3``
            in the Chroma directory; in memory for ``":memory:"`` and custom stores; on a
            Chroma server, no file: the history is kept beside the collection on the server,
            one per deployment, see :mod:`agent_memory.store._chroma_history`).
        index_bytes: memory budget of the hybrid search's per-user lexical indexes for this
            collection in this process (least recently searched users are dropped first).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        path: str | None = None,
        collection: str = _config.DEFAULT_COLLECTION,
        dimensions: int | None = None,
        device: str | None = None,
        task: str | None = None,
        backend: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        backend_options: Mapping[str, Any] | None = None,
        chroma_url: str | None = None,
        chroma_headers: Mapping[str, str] | None = None,
        tenant: str | None = None,
        database: str | None = None,
        embedder: Embedder | None = None,
        store: ChromaStore | None = None,
        cache_size: int = 4096,
        reranker: str | Reranker | None = None,
        rerank_candidates: int = 30,
        history_path: str | None = None,
        index_bytes: int = DEFAULT_INDEX_BYTES,
    ) -> None:
        self.task = resolve_task(task)
        backend_settings = (model, dimensions, device, backend, base_url, api_key, backend_options)
        if embedder is not None and any(v is not None for v in backend_settings):
            raise ConfigurationError("pass either embedder= or model/dimensions/device/backend options, not both")
        if embedder is not None:
            check_embedder(embedder)
        self._owns_embedder = embedder is None
        dimensions = dimensions or _config.default_dimensions()
        self.cache = EmbeddingCache(cache_size)
        self.reranker = as_reranker(reranker)
        self.rerank_candidates = check_positive(rerank_candidates, "rerank_candidates")
        self.embedder: Embedder = embedder or create_embedder(
            model,
            backend=backend,
            dimensions=dimensions,
            device=device,
            base_url=base_url,
            api_key=api_key,
            options=backend_options,
        )
        if store is not None and not isinstance(store, ChromaStore):
            raise ConfigurationError(f"store= takes a ChromaStore, not {type(store).__name__}: Chroma is the one store")
        if store is not None and (path is not None or chroma_url is not None):
            raise ConfigurationError("pass either store= or path=/chroma_url=, not both")
        self.collection, self.path = collection, "<custom store>"
        if store is None:
            store, self.path = open_store(path, chroma_url, collection, chroma_headers, tenant, database)
            self._shared_key, default_history = shared_key(store, self.path, collection, custom_store=False)
        else:
            self._shared_key, default_history = shared_key(store, self.path, collection, custom_store=True)
        self.store: ChromaStore = store
        if self._owns_embedder and dimensions is None:
            self._open_at_recorded_dimension()
        namespace = f"{self.path}|{self.collection}"
        self.history_log: History = history_of(store, history_path, default_history, namespace)
        lock, self._index = shared_parts(self._shared_key, check_positive(index_bytes, "index_bytes"))
        self.writer = Writer(
            self.store, self.history_log, self._index, lock, self._embed_documents, lambda: self.embedder.fingerprint
        )

    def _open_at_recorded_dimension(self) -> None:
        """With no size named, a collection written at a Matryoshka size (``reindex --dimensions``)
        opens at that size, so that every later command need not repeat it."""
        recorded = self.store.fingerprint
        if isinstance(self.embedder, BaseEmbedder) and recorded is not None and recorded.model == self.embedder.model:
            self.embedder.open_at(recorded.dimension)

    def __repr__(self) -> str:
        return f"MemorySystem(embedder={self.embedder!r}, path={self.path!r}, collection={self.collection!r})"

    def __enter__(self) -> MemorySystem:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the store, and the embedder's engine or connections if this system made it.

        An in-process model (transformers, sentence-transformers) stays loaded for other systems.
        """
        self.store.close()
        self.history_log.close()
        if isinstance(self._shared_key, int):  # a private store's id may be reused once it is gone
            release_parts(self._shared_key)
        close_embedder = getattr(self.embedder, "close", None)
        if self._owns_embedder and callable(close_embedder):
            close_embedder()

    # -- writing -------------------------------------------------------------------------

    def store_memory(
        self,
        text: str,
        *,
        user_id: str,
        metadata: Mapping[str, MetadataValue] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
        kind: str | None = None,
    ) -> Memory:
        """Store one memory and return it; the exact same text in the same scope returns the existing one
        (unless that one has expired). ``valid_from``/``valid_until`` and ``kind`` as in :meth:`store_memories`."""
        check_text(text)
        return self.store_memories(
            [text],
            user_id=user_id,
            metadatas=[metadata],
            agent_id=agent_id,
            session_id=session_id,
            actor=actor,
            valid_from=valid_from,
            valid_until=valid_until,
            kind=kind,
        )[0]

    def store_memories(
        self,
        texts: Sequence[str],
        *,
        user_id: str,
        metadatas: Sequence[Mapping[str, MetadataValue] | None] | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        progress: bool | None = None,
        actor: str | None = None,
        valid_from: datetime | str | None = None,
        valid_until: datetime | str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        kind: str | None = None,
    ) -> list[Memory]:
        """Store many memories in batches; returns one :class:`Memory` per input, in order.
        ``metadatas`` gives each text its own metadata; ``metadata``, one for all of them.

        All input is validated before anything is written. Texts already stored in
        this exact scope (and repeats within ``texts``) are not stored again: their
        position gets the existing memory. ``progress`` shows a progress bar
        (default: for 1,000 texts or more). ``actor`` is who the history records
        (``user``, ``agent:<id>``, ``system``; default ``agent:<agent_id>``, else ``user``).

        ``valid_from``/``valid_until`` say when the facts hold (datetimes or ISO 8601, naive
        ones in this process's zone; ``None``: open). A memory past its ``valid_until`` is
        expired: kept, but left out of searches and lists unless they ask for it, and its
        text counts as not stored, so storing it again makes a new memory.

        ``kind`` says what the memories are: ``"event"`` (it happened at ``valid_from``, else when
        stored: "bought a kettle", "visited Kyoto") or ``"state"`` (it holds from then until ended:
        "lives in Porto"). Time-aware search ranks events that happened in the span a query names
        above what merely still held then; with ``None`` (the default) it guesses the kind from
        the text (see the docs: search).
        """
        texts = check_texts(texts)
        kind = check_kind(kind)
        scope = Scope.of(user_id, agent_id, session_id)
        actor = check_actor(actor, scope.agent_id)
        metas = check_metadatas(metadatas, len(texts), metadata)
        valid = check_validity(valid_from, valid_until)
        return self.writer.add(texts, metas, scope, actor, progress, valid=valid, kind=kind)[0]

    def remember(
        self,
        messages: Sequence[Message | Mapping[str, Any] | object],
        *,
        user_id: str,
        extractor: Extractor,
        agent_id: str | None = None,
        session_id: str | None = None,
        candidates: int = 5,
        on_invalid: str = "add",
        actor: str | None = None,
        batch_decisions: bool = True,
    ) -> list[MemoryChange]:
        """Store the lasting facts of a conversation, reconciled with the user's memories.

        ``messages`` are ``{"role", "content", "time"?}`` mappings (``time`` a datetime or
        ISO 8601; relative dates are resolved against it, against now where it is
        missing), :class:`Message` objects, or the extractor's own message types.
        The ``extractor`` lists the facts, then for each fact sees the user's
        ``candidates`` most similar memories (this agent's, from any session; found
        like ``search_memory`` finds them) and decides: add it, update one, delete
        one, or nothing. A fact equal to a memory is ``unchanged`` without asking.
        Updates and deletes keep the old text in the :meth:`history`.

        A decision that cannot be followed (unparseable, unknown action, an id the
        model was not shown, such as another user's) is never applied: with
        ``on_invalid="add"`` (default) the fact is stored as a new memory, with
        ``"skip"`` nothing is; either way its change carries the ``problem``.
        Facts that cannot be extracted raise :class:`ExtractionError` before
        anything is written. Returns one :class:`MemoryChange` per fact, in order.

        With ``batch_decisions=True`` and an extractor that can decide many facts at
        once (``decide_all``, as :class:`LLMExtractor` and its subclasses can), all of a
        conversation's decisions come from one call (split only when the prompt would
        pass about 2k tokens): two calls per conversation, plus a call of its own for a
        fact shown a memory that an earlier fact's decision changed (its change says
        ``rechecked``). Facts are then decided against the memories stored before the
        conversation: a memory an earlier fact of the same conversation adds is not
        shown to a later one (the default). ``False`` asks fact by fact.
        """
        return remember(
            self.writer,
            self._candidates,
            messages,
            user_id=user_id,
            extractor=extractor,
            agent_id=agent_id,
            session_id=session_id,
            candidates=candidates,
            on_invalid=on_invalid,
            actor=actor,
            batch_decisions=batch_decisions,
        )

    def _candidates(self, fact: str, scope: Scope, top_k: int) -> list[Memory]:
        """What ``remember`` shows the extractor for a fact: the scope's agent's most similar memories."""
        hits = self.search_memory(
            fact,
            user_id=scope.user_id,
            agent_id=scope.agent_id,
            top_k=top_k,
            task=TASKS["reconcile"],
            time_aware=False,  # a date in a fact is part of the fact, not a span to search in
        )
        return [hit.memory for hit in hits]

    def update_memory(
        self,
        memory_id: str,
        *,
        user_id: str,
        text: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        actor: str | None = None,
    ) -> Memory:
        """Change a memory's text (re-embedding it) and/or replace its metadata; returns the new version.

        Raises :class:`MemoryNotFoundError` when the id does not exist for this user.
        """
        memory_id, scope, actor = check_id(memory_id), Scope.of(user_id), check_actor(actor)
        new_text = None if text is None else check_text(text)
        new_meta = None if metadata is None else check_metadata(metadata)
        return self.writer.update(memory_id, scope, new_text, new_meta, actor)

    def delete_memory(self, memory_id: str, *, user_id: str, actor: str | None = None) -> bool:
        """Erase one memory (for data that must be gone; :meth:`expire_memory` keeps it as past);
        ``False`` when the user has no memory with that id."""
        scope, actor = Scope.of(user_id), check_actor(actor)
        return self.writer.delete(check_id(memory_id), scope, actor)

    def expire_memory(
        self, memory_id: str, *, user_id: str, at: datetime | str | None = None, actor: str | None = None
    ) -> Memory:
        """End a memory's validity at ``at`` (default: now) without erasing it: it stops showing in
        default reads, ``as_of`` an earlier time still finds it, and :meth:`restore_memory`
        undoes it. This is what ``remember`` does when a fact stops being true."""
        scope, actor = Scope.of(user_id), check_actor(actor)
        end = check_validity(None, at)[1] or now_ms()
        return self.writer.set_validity(check_id(memory_id), scope, end, actor)

    def restore_memory(self, memory_id: str, *, user_id: str, actor: str | None = None) -> Memory:
        """Undo an expiry: the memory holds again, with no ``valid_until``."""
        scope, actor = Scope.of(user_id), check_actor(actor)
        return self.writer.set_validity(check_id(memory_id), scope, None, actor)

    def delete_all_memories(
        self,
        *,
        user_id: str,
        agent_id: str | None = None,
        session_id: str | None = None,
        actor: str | None = None,
        purge_history: bool = False,
    ) -> int:
        """Delete every memory of the user (narrowed by agent/session if given); returns how many.

        Each deletion is recorded in the history, unless ``purge_history`` is set: then
        the user's whole history goes too (right to be forgotten; agent and session
        narrow the memories deleted, never the history purged).
        """
        scope, actor = Scope.of(user_id, agent_id, session_id), check_actor(actor)
        return self.writer.delete_scope(scope, actor, purge_history)

    def history(self, memory_id: str, *, user_id: str) -> list[HistoryEvent]:
        """Every recorded change of the memory (create, update, delete), oldest first.

        Still there after the memory is deleted; empty for another user's id.
        """
        return self.history_log.for_memory(check_id(memory_id), Scope.of(user_id).user_id)

    def reindex(self, *, keep_old: bool = False) -> int:
        """Re-embed every memory with this system's embedder; returns how many were re-embedded.

        To move to another model or dimension, open the store with the new settings
        and reindex: ``MemorySystem(model="Qwen/Qwen3-Embedding-8B", path=...).reindex()``.
        The memories are copied into a new collection and it takes the collection's
        name only when complete, so an interrupted reindex leaves the old one in use.
        Pause other writers meanwhile. ``keep_old`` keeps the old collection, renamed.
        """
        return self.writer.reindex(keep_old)

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
          memory about someone else loses 10%).
          The best choice on every store shape measured (docs: performance).
        * ``mode="dense"``: the cosine similarity, clipped to [0, 1].
        * With a ``reranker``, the first stage's best candidates are re-scored and
          ``score`` is the reranker's probability that the memory answers the query.

        ``similarity`` is always the raw cosine similarity. The query is embedded with the
        task instruction (``task``, else the system's default task); ``filters`` (Chroma
        ``where`` syntax) narrow the user's memories and can never widen them.
        ``since``/``until`` keep memories stored from ``since`` (inclusive) to ``until``
        (exclusive): datetimes or ISO 8601 strings, naive ones read in ``tz`` (an IANA
        name; default: this process's local zone).

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
        check_text(query, "query")
        scope = Scope.of(user_id, agent_id, session_id)
        top_k, mode = check_positive(top_k, "top_k"), check_choice(mode, MODES, "mode")
        instruction = self.task if task is None else resolve_task(task)
        chosen = check_signals(signals)
        window = window_of(as_of, include_expired, tz)
        asked = time_aware and as_of is None and not include_expired and since is None and until is None
        where, threshold = with_times(check_filters(filters), since, until, tz), check_min_score(min_score)
        named = named_time(query, now, tz) if asked else None
        half_life, moment = check_half_life(recency_half_life), check_time(now, "now", tz)
        self.store.check_fingerprint(self.embedder.fingerprint)
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
        limit = None if limit is None else check_positive(limit, "limit")
        offset = check_non_negative(offset, "offset")
        newest = check_choice(order, ("oldest", "newest"), "order") == "newest"
        where = with_times(check_filters(filters), since, until, tz)
        window = window_of(as_of, include_expired, tz)
        where = where if window is None else window.narrow(where)
        return self.store.list_memories(scope, filters=where, limit=limit, offset=offset, newest=newest)

    def iter_memories(self, *, user_id: str, page_size: int = 1000) -> Iterator[Memory]:
        """Every memory of the user, expired ones too, fetched a page at a time (for export and bulk work)."""
        return (m for page in self.store.pages(Scope.of(user_id), check_positive(page_size, "page_size")) for m in page)

    def count(self, *, user_id: str | None = None, agent_id: str | None = None) -> int:
        """How many memories the user has stored, expired ones too (of one agent, if ``agent_id`` is
        given); every user's together when ``user_id`` is None."""
        if user_id is None and agent_id is not None:
            raise ValidationError("count(agent_id=...) needs the user_id the agent's memories belong to")
        return self.store.count(None if user_id is None else Scope.of(user_id, agent_id))

    def stats(self) -> MemoryStats:
        """Totals and per-user counts, with the fingerprint recorded in the store."""
        users = dict(sorted(self.store.user_counts().items()))
        fingerprint = self.store.fingerprint
        return MemoryStats(
            total=sum(users.values()),
            users=users,
            collection=self.collection,
            path=self.path,
            model=fingerprint.model if fingerprint else None,
            dimension=fingerprint.dimension if fingerprint else None,
        )

    # -- helpers -------------------------------------------------------------------------

    def _embed_documents(self, texts: list[str]) -> Any:
        def compute(missing: list[str]) -> Any:
            vectors = self.embedder.embed_documents(missing)
            return check_vectors(vectors, len(missing), self.embedder.dimension, "embedder.embed_documents")

        return self.cache.embed(self.embedder.fingerprint, None, texts, compute)

    def _embed_queries(self, queries: list[str], task: str) -> Any:
        def compute(missing: list[str]) -> Any:
            vectors = self.embedder.embed_queries(missing, task)
            return check_vectors(vectors, len(missing), self.embedder.dimension, "embedder.embed_queries")

        return self.cache.embed(self.embedder.fingerprint, task, queries, compute)
