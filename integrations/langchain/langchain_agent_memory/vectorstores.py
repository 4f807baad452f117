"""``AgentMemoryVectorStore``: a LangChain vector store of one user's memories in a ``MemorySystem``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance
from numpy.typing import NDArray

from agent_memory import ChromaStore, ConfigurationError, EmbeddingError, Memory, MemorySystem, Scope, ValidationError
from agent_memory.embeddings import Embedder, as_unit_rows
from agent_memory.validation import check_at_most, check_filters
from langchain_agent_memory.embeddings import LangChainEmbedder, Qwen3Embeddings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["AgentMemoryVectorStore"]

DEFAULT_COLLECTION = "langchain"


def _document(memory: Memory) -> Document:
    return Document(id=memory.key or memory.id, page_content=memory.text, metadata=dict(memory.metadata))


def _embedder_of(embedding: Embeddings) -> Embedder:
    """What the memory system embeds documents with: a Qwen3Embeddings' own embedder (no instruction
    for documents, its task for queries), else the LangChain embeddings themselves."""
    return embedding.embedder if isinstance(embedding, Qwen3Embeddings) else LangChainEmbedder(embedding)


def _open(embedding: Embeddings, collection: str | None, path: str | None, client: ClientAPI | None) -> MemorySystem:
    """The memory system of a store made from ``path`` or ``client``: an embedded Chroma at ``path``
    (history beside it), a collection on ``client`` (history beside it too), else a private in-memory one."""
    embedder, collection = _embedder_of(embedding), collection or DEFAULT_COLLECTION
    task = embedding.task if isinstance(embedding, Qwen3Embeddings) else None
    if client is None:
        return MemorySystem(embedder=embedder, path=path or ":memory:", collection=collection, task=task)
    if path is not None:
        raise ConfigurationError("pass either path= or client=, not both")
    return MemorySystem(embedder=embedder, store=ChromaStore.connect(collection, client=client), task=task)


class AgentMemoryVectorStore(VectorStore):
    """A LangChain ``VectorStore`` of one user's memories, kept by a :class:`~agent_memory.MemorySystem`.

    Accepts **any** LangChain ``Embeddings``; with :class:`Qwen3Embeddings` the
    queries carry the task instruction and stored texts do not. Every read, write
    and delete is confined to ``user_id`` (and ``agent_id``/``session_id`` when
    given): metadata filters narrow that scope and can never widen it.

    Every write goes through the memory system, as its own writes do: each document is a memory
    stored under its id as the memory's key (:meth:`MemorySystem.put_memories`), so adds, replacements
    and deletes are in the memory's ``history`` and in the next hybrid ``search_memory`` at once.
    Ids are per scope: two users may use the same id. A document without an id gets a new one.

    Scores are cosine similarities, higher is better, whatever the collection's
    distance metric. ``memory`` is the memory system to use (then ``path``, ``client``
    and ``collection_name`` are its business, and its embedder must be ``embedding``'s);
    without it, one is made: an embedded persistent Chroma at ``path``, a collection on
    ``client`` (any Chroma client, a ``chromadb.HttpClient`` for a server), else a private
    in-memory one. The store's ``memory`` attribute is that system.
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        user_id: str,
        collection_name: str | None = None,
        path: str | None = None,
        client: ClientAPI | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        memory: MemorySystem | None = None,
    ) -> None:
        self._embedding = embedding
        self.scope = Scope.of(user_id, agent_id, session_id)
        if memory is not None and (collection_name is not None or path is not None or client is not None):
            raise ConfigurationError("pass either memory= or collection_name=/path=/client=, not both")
        self._owns_memory = memory is None
        self.memory = _open(embedding, collection_name, path, client) if memory is None else memory
        if memory is not None and _embedder_of(embedding).fingerprint != memory.embedder.fingerprint:
            raise ConfigurationError(
                f"the memory system embeds with {memory.embedder.fingerprint}, the store's embedding is "
                f"{_embedder_of(embedding).fingerprint}: give the store the embeddings the memory system uses"
            )

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    def close(self) -> None:
        """Close the memory system this store made (one passed as ``memory=`` stays open)."""
        if self._owns_memory:
            self.memory.close()

    def _in_scope(self) -> dict[str, Any]:
        return {"user_id": self.scope.user_id, "agent_id": self.scope.agent_id, "session_id": self.scope.session_id}

    # -- writing -------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and store texts for this user; re-adding an id replaces that document.

        Everything is checked before anything is written, and a write that fails part-way
        leaves every document as it was.
        """
        texts = list(texts)
        given: Sequence[str | None] = [None] * len(texts) if ids is None else ids
        keys = [str(uuid.uuid4()) if i is None else i for i in given]
        self.memory.put_memories(keys, texts, metadatas=metadatas, **self._in_scope())
        return keys

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete these ids of this user (missing ids are no error); ``None`` deletes all of them."""
        if ids is None:
            self.memory.delete_all_memories(**self._in_scope())
        elif ids:
            self.memory.delete_memories(ids=[m.id for m in self._named(ids)], **self._in_scope())
        return True

    def _named(self, ids: Sequence[str]) -> list[Memory]:
        """The memories these document ids name, in the order asked: the one stored under the id as its
        key, else one stored without a key (by ``store_memory``, or by an older version of this store)
        that has the id itself."""
        keyed = {m.key: m for m in self.memory.get_memories(keys=ids, **self._in_scope())}
        rest = [i for i in ids if i not in keyed]
        plain = {m.id: m for m in self.memory.get_memories(ids=rest, **self._in_scope()) if m.key is None}
        return [m for m in (keyed.get(i) or plain.get(i) for i in ids) if m is not None]

    # -- reading -------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """This user's documents with these ids, in the order asked; missing ids are left out."""
        return [_document(m) for m in self._named(list(ids))]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter=filter, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with their cosine similarity to the query, best first."""
        return self.similarity_search_by_vector_with_score(self._embedding.embed_query(query), k, filter=filter)

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_by_vector_with_score(embedding, k, filter=filter)]

    def similarity_search_by_vector_with_score(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        hits = self._query(self._unit(embedding), k, filter)
        return [(_document(m), score) for m, score in hits]

    def _unit(self, embedding: Sequence[float]) -> NDArray[np.float32]:
        """A query embedding checked against the memory system's embedder and made unit-norm."""
        vector: NDArray[np.float32] = as_unit_rows([embedding], 1, "the query embedding")[0]
        fingerprint = self.memory.embedder.fingerprint
        if vector.shape[0] != fingerprint.dimension:
            raise EmbeddingError(f"the embedding returned {vector.shape[0]} dims, its fingerprint says {fingerprint}")
        return vector

    def _query(self, vector: NDArray[np.float32], k: int, filter: dict[str, Any] | None) -> list[tuple[Memory, float]]:
        top_k, where = check_at_most(k, "k", self.memory.limits), check_filters(filter, self.memory.limits)
        return self.memory.store.query(vector, self.scope, filters=where, top_k=top_k)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return lambda score: score  # scores are already cosine similarities, as for LangChain's cosine stores

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, filter=filter
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Relevant and diverse: ``fetch_k`` nearest documents, then ``k`` of them by MMR."""
        query = self._unit(embedding)
        candidates = [m for m, _ in self._query(query, max(fetch_k, k), filter)]
        if not candidates:
            return []
        vectors = self.memory.store.vectors([m.id for m in candidates], self.scope)
        chosen = maximal_marginal_relevance(query, list(vectors), lambda_mult=lambda_mult, k=k)
        return [_document(candidates[i]) for i in chosen]

    # -- construction --------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        user_id: str | None = None,
        **kwargs: Any,
    ) -> AgentMemoryVectorStore:
        """A store for ``user_id`` holding ``texts`` (other keyword arguments go to the constructor)."""
        if user_id is None:
            raise ValidationError("user_id is required: every memory belongs to one user")
        store = cls(embedding, user_id=user_id, **kwargs)
        store.add_texts(texts, metadatas, ids=list(ids) if ids is not None else None)
        return store
