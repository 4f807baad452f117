"""``MemorySystem``: the one entry point, tying an embedder to a store."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from agent_memory import _config
from agent_memory._errors import AgentMemoryError, ConfigurationError, ValidationError
from agent_memory._reading import Reading
from agent_memory._tasks import TASKS, resolve_task
from agent_memory._types import Memory, MemoryStats, Scope
from agent_memory._validation import (
    Limits,
    check_positive,
    default_limits,
)
from agent_memory._writer import Writer, release_parts, shared_parts
from agent_memory._writing import Writing
from agent_memory.embeddings import Embedder, EmbeddingCache, create_embedder
from agent_memory.embeddings._base import BaseEmbedder, check_vectors
from agent_memory.embeddings._factory import check_embedder
from agent_memory.search._hybrid import DEFAULT_INDEX_BYTES
from agent_memory.search._rerank import Reranker, as_reranker
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.store._history import History
from agent_memory.store._placement import history_of, open_store, shared_key

__all__ = ["MemorySystem"]


class MemorySystem(Writing, Reading):
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
        limits: the most one call may ask (texts per call, metadata keys, ``top_k``, filter
            size, ...; default: ``AGENT_MEMORY_LIMITS``, else :class:`Limits`' defaults). Every
            surface over this system (HTTP, MCP, the CLI, the tools) is held to them.
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
        limits: Limits | None = None,
    ) -> None:
        if limits is not None and not isinstance(limits, Limits):
            raise ConfigurationError(f"limits= takes a Limits, not {type(limits).__name__}")
        self.limits = limits or default_limits()
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
        try:
            lock, self._index = shared_parts(self._shared_key, check_positive(index_bytes, "index_bytes"))
        except AgentMemoryError:
            self.history_log.close()
            store.close()
            raise
        self._closed = False
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
        if self._closed:
            return
        self._closed = True
        self.store.close()
        self.history_log.close()
        release_parts(self._shared_key)
        close_embedder = getattr(self.embedder, "close", None)
        if self._owns_embedder and callable(close_embedder):
            close_embedder()

    def reindex(self, *, keep_old: bool = False) -> int:
        """Re-embed every memory with this system's embedder; returns how many were re-embedded.

        To move to another model or dimension, open the store with the new settings
        and reindex: ``MemorySystem(model="Qwen/Qwen3-Embedding-8B", path=...).reindex()``.
        The memories are copied into a new collection and it takes the collection's
        name only when complete, so an interrupted reindex leaves the old one in use.
        Pause other writers meanwhile. ``keep_old`` keeps the old collection, renamed.
        """
        return self.writer.reindex(keep_old)

    def count(self, *, user_id: str | None = None, agent_id: str | None = None) -> int:
        """How many memories the user has stored, expired ones too (of one agent, if ``agent_id`` is
        given); every user's together when ``user_id`` is None."""
        if user_id is None and agent_id is not None:
            raise ValidationError("count(agent_id=...) needs the user_id the agent's memories belong to")
        return self.store.count(None if user_id is None else Scope.of(user_id, agent_id))

    def stats(self) -> MemoryStats:
        """Totals and per-user counts, with the fingerprint recorded in the store."""
        users = dict(sorted(self.store._user_counts().items()))
        fingerprint = self.store.fingerprint
        return MemoryStats(
            total=sum(users.values()),
            users=users,
            collection=self.collection,
            path=self.path,
            model=fingerprint.model if fingerprint else None,
            dimension=fingerprint.dimension if fingerprint else None,
        )

    def warm_up(self) -> None:
        """Load the model now (a server calls this at start), so that the first call does not wait for it."""
        self.embedder.embed_queries(["warm-up"])

    # -- helpers -------------------------------------------------------------------------

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
