"""``AgentMemoryVectorStore``: a LlamaIndex vector store over agent-memory's per-user Chroma store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings
from llama_index.core.schema import BaseNode, MetadataMode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from llama_index.vector_stores.agent_memory.filters import to_chroma_where

from agent_memory import ChromaStore, Memory, Scope, ValidationError
from agent_memory.embeddings import Fingerprint, as_unit_rows
from agent_memory.validation import check_at_most, check_metadata

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

__all__ = ["AgentMemoryVectorStore"]

DEFAULT_COLLECTION = "llama_index"
_MMR_PREFETCH = 4  # MMR picks from this many times similarity_top_k candidates


def _and(*clauses: dict[str, Any] | None) -> dict[str, Any] | None:
    present = [c for c in clauses if c]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"$and": present}


class AgentMemoryVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store of one user's memories, in agent-memory's Chroma store.

    Nodes keep their ids, text, metadata and relationships (so ``delete`` by
    ``ref_doc_id`` works); every call is confined to ``user_id`` (and
    ``agent_id``/``session_id`` when given). ``MetadataFilters`` are translated to
    Chroma's ``where`` syntax for every operator it can express, combined with the
    user scope, and refused clearly otherwise. Similarities are cosine similarities,
    higher is better. Without ``path`` or ``client`` the store is a private
    in-memory Chroma database.
    """

    stores_text: bool = True
    flat_metadata: bool = True
    user_id: str
    collection_name: str = DEFAULT_COLLECTION
    path: str | None = None
    agent_id: str | None = None
    session_id: str | None = None

    _store: ChromaStore = PrivateAttr()
    _scope: Scope = PrivateAttr()

    def __init__(
        self,
        user_id: str,
        collection_name: str = DEFAULT_COLLECTION,
        path: str | None = None,
        client: ClientAPI | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        scope = Scope.of(user_id, agent_id, session_id)
        super().__init__(
            user_id=user_id,
            collection_name=collection_name,
            path=path,
            agent_id=agent_id,
            session_id=session_id,
            **kwargs,
        )
        self._scope = scope
        self._store = ChromaStore.connect(collection_name, path=path, client=client)

    @classmethod
    def class_name(cls) -> str:
        return "AgentMemoryVectorStore"

    @property
    def client(self) -> Any:
        """The underlying agent-memory :class:`~agent_memory.ChromaStore`."""
        return self._store

    def close(self) -> None:
        """Release the Chroma client (and drop the in-memory database, if it is one)."""
        self._store.close()

    # -- writing -------------------------------------------------------------------------

    def _memory(self, node: BaseNode) -> Memory:
        metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=self.flat_metadata)
        metadata = {k: v for k, v in metadata.items() if v is not None}  # Chroma stores no None values
        text = node.get_content(metadata_mode=MetadataMode.NONE)
        return Memory.create(text, self._scope, check_metadata(metadata), id=node.node_id)

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Store nodes (with their embeddings) for this user; a node id that exists is replaced."""
        if not nodes:
            return []
        missing = [n.node_id for n in nodes if n.embedding is None]
        if missing:
            raise ValidationError(f"nodes {missing[:5]!r} have no embedding: embed them before adding")
        memories = [self._memory(n) for n in nodes]
        vectors = as_unit_rows([n.embedding for n in nodes], len(nodes), "the nodes' embeddings")
        self._check_dimension(vectors.shape[1])
        self._store.upsert(memories, vectors)
        return [m.id for m in memories]

    def _check_dimension(self, dimension: int) -> None:
        self._store.check_fingerprint(Fingerprint(model="llama-index", dimension=dimension, query_format="embed_model"))

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete this user's nodes that came from the document ``ref_doc_id``."""
        self._delete_where({"ref_doc_id": ref_doc_id})

    def delete_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **delete_kwargs: Any
    ) -> None:
        """Delete this user's nodes by id and/or filters (missing ids are no error)."""
        found = self._find(node_ids, filters)
        self._store.delete([m.id for m in found], self._scope)

    def clear(self) -> None:
        """Delete every node of this user (and only this user's)."""
        self._store.delete_scope(self._scope)

    def _delete_where(self, where: dict[str, Any]) -> None:
        found = self._store.list_memories(self._scope, filters=where, limit=None, offset=0)
        self._store.delete([m.id for m in found], self._scope)

    # -- reading -------------------------------------------------------------------------

    def _find(self, node_ids: list[str] | None, filters: MetadataFilters | None) -> list[Memory]:
        where = to_chroma_where(filters)
        if node_ids is not None:
            return self._store.get(node_ids, self._scope, filters=where)
        return self._store.list_memories(self._scope, filters=where, limit=None, offset=0)

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **kwargs: Any
    ) -> list[BaseNode]:
        """This user's nodes by id and/or filters."""
        return [self._node(m) for m in self._find(node_ids, filters)]

    @staticmethod
    def _node(memory: Memory) -> BaseNode:
        node = metadata_dict_to_node(dict(memory.metadata), text=memory.text)
        node.embedding = None
        return node

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Nearest nodes of this user to ``query.query_embedding``; default and MMR modes."""
        if query.mode not in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR):
            raise ValidationError(f"query mode {query.mode.value!r} is not supported; use 'default' or 'mmr'")
        if query.query_embedding is None:
            raise ValidationError("this vector store needs query.query_embedding")
        top_k = check_at_most(query.similarity_top_k, "similarity_top_k")
        doc_filter = {"ref_doc_id": {"$in": list(query.doc_ids)}} if query.doc_ids else None
        where = _and(to_chroma_where(query.filters), doc_filter)
        vector = as_unit_rows([query.query_embedding], 1, "the query embedding")[0]
        self._check_dimension(vector.shape[0])
        fetch = top_k * _MMR_PREFETCH if query.mode == VectorStoreQueryMode.MMR else top_k
        # An empty node_ids means no restriction: VectorStoreIndex passes [] for stores that keep the text.
        hits = self._store.query(vector, self._scope, filters=where, top_k=fetch, ids=query.node_ids or None)
        if query.mode == VectorStoreQueryMode.MMR and hits:
            hits = self._mmr(vector, hits, top_k, query.mmr_threshold)
        return VectorStoreQueryResult(
            nodes=[self._node(m) for m, _ in hits],
            similarities=[s for _, s in hits],
            ids=[m.id for m, _ in hits],
        )

    def _mmr(
        self, vector: np.ndarray[Any, Any], hits: list[tuple[Memory, float]], top_k: int, threshold: float | None
    ) -> list[tuple[Memory, float]]:
        ids = [m.id for m, _ in hits]
        vectors = self._store.vectors(ids, self._scope)
        _, chosen = get_top_k_mmr_embeddings(
            vector.tolist(), vectors.tolist(), similarity_top_k=top_k, embedding_ids=ids, mmr_threshold=threshold
        )
        by_id = {m.id: (m, s) for m, s in hits}
        return [by_id[i] for i in chosen]

    # -- async twins: the same work in a worker thread, so the event loop keeps running ----

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        return await asyncio.to_thread(self.add, nodes, **kwargs)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        await asyncio.to_thread(self.delete, ref_doc_id, **delete_kwargs)

    async def adelete_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **delete_kwargs: Any
    ) -> None:
        await asyncio.to_thread(self.delete_nodes, node_ids, filters, **delete_kwargs)

    async def aclear(self) -> None:
        await asyncio.to_thread(self.clear)

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **kwargs: Any
    ) -> list[BaseNode]:
        return await asyncio.to_thread(self.get_nodes, node_ids, filters, **kwargs)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        return await asyncio.to_thread(self.query, query, **kwargs)
