"""``AgentMemoryVectorStore``: a LangChain vector store over agent-memory's per-user Chroma store."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance
from numpy.typing import NDArray

from agent_memory import ChromaStore, EmbeddingError, Memory, Scope, ValidationError
from agent_memory.embeddings import Fingerprint, as_unit_rows
from agent_memory.validation import check_at_most, check_filters, check_id, check_ids, check_metadata, check_texts
from langchain_agent_memory.embeddings import Qwen3Embeddings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["AgentMemoryVectorStore"]

DEFAULT_COLLECTION = "langchain"


def _document(memory: Memory) -> Document:
    return Document(id=memory.id, page_content=memory.text, metadata=dict(memory.metadata))


class AgentMemoryVectorStore(VectorStore):
    """A LangChain ``VectorStore`` of one user's memories, in agent-memory's Chroma store.

    Accepts **any** LangChain ``Embeddings``; with :class:`Qwen3Embeddings` the
    queries carry the task instruction and stored texts do not. Every read, write
    and delete is confined to ``user_id`` (and ``agent_id``/``session_id`` when
    given): metadata filters narrow that scope and can never widen it.

    Scores are cosine similarities, higher is better, whatever the collection's
    distance metric. Without ``path`` or ``client`` the store is a private
    in-memory Chroma database; ``path`` is an embedded persistent Chroma;
    ``client`` is any Chroma client (a ``chromadb.HttpClient`` for a server).
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        user_id: str,
        collection_name: str = DEFAULT_COLLECTION,
        path: str | None = None,
        client: ClientAPI | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> None:
        self._embedding = embedding
        self.scope = Scope.of(user_id, agent_id, session_id)
        self._store = ChromaStore.connect(collection_name, path=path, client=client)

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    def close(self) -> None:
        """Release the Chroma client (and drop the in-memory database, if it is one)."""
        self._store.close()

    # -- writing -------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and store texts for this user. Re-adding an id replaces that document.

        Everything is checked before anything is written; an id that belongs to
        another user's memory is refused.
        """
        texts = check_texts(list(texts))
        metas = [check_metadata(m) for m in metadatas] if metadatas is not None else [{} for _ in texts]
        given = self._given_ids(ids, len(texts), len(metas))
        if not texts:
            return []
        vectors = as_unit_rows(self._embedding.embed_documents(texts), len(texts), "embedding.embed_documents")
        self._check_fingerprint(vectors.shape[1])
        memories = [Memory.create(t, self.scope, m, id=i) for i, t, m in zip(given, texts, metas, strict=True)]
        self._store.upsert(memories, vectors)
        return [m.id for m in memories]

    @staticmethod
    def _given_ids(ids: Sequence[str | None] | None, count: int, metadata_count: int) -> list[str | None]:
        """Caller ids, checked; ``None`` where a new id is to be made."""
        if metadata_count != count:
            raise ValidationError(f"got {metadata_count} metadatas for {count} texts")
        given: list[str | None] = [None if i is None else check_id(i) for i in (ids or [None] * count)]
        if len(given) != count:
            raise ValidationError(f"got {len(given)} ids for {count} texts")
        named = [i for i in given if i is not None]
        if len(set(named)) != len(named):
            raise ValidationError("ids must be unique within one call")
        return given

    def _check_fingerprint(self, dimension: int) -> None:
        if isinstance(self._embedding, Qwen3Embeddings):
            fingerprint = self._embedding.embedder.fingerprint
        else:
            kind = type(self._embedding)
            name = getattr(self._embedding, "model", None) or getattr(self._embedding, "model_name", None)
            model = f"langchain:{kind.__module__}.{kind.__qualname__}" + (f":{name}" if name else "")
            fingerprint = Fingerprint(model=model, dimension=dimension, query_format="embed_query")
        if fingerprint.dimension != dimension:
            raise EmbeddingError(f"the embedding returned {dimension} dims, its fingerprint says {fingerprint}")
        self._store.check_fingerprint(fingerprint)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete these ids of this user (missing ids are no error); ``None`` deletes all of them."""
        if ids is None:
            self._store.delete_scope(self.scope)
        elif ids:
            self._store.delete(check_ids(ids), self.scope)
        return True

    # -- reading -------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """This user's documents with these ids, in the order asked; missing ids are left out."""
        return [_document(m) for m in self._store.get(check_ids(list(ids)), self.scope)]

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
        """A query embedding checked against the collection and made unit-norm."""
        vector: NDArray[np.float32] = as_unit_rows([embedding], 1, "the query embedding")[0]
        self._check_fingerprint(vector.shape[0])
        return vector

    def _query(self, vector: NDArray[np.float32], k: int, filter: dict[str, Any] | None) -> list[tuple[Memory, float]]:
        top_k, where = check_at_most(k, "k"), check_filters(filter)
        return self._store.query(vector, self.scope, filters=where, top_k=top_k)

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
        vectors = self._store.vectors([m.id for m in candidates], self.scope)
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
