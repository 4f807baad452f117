"""``AgentMemoryVectorStore``: a LlamaIndex vector store of one user's memories in a ``MemorySystem``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
from llama_index.vector_stores.agent_memory.filters import to_chroma_where

from agent_memory import (
    ChromaStore,
    ConfigurationError,
    EmbedderMismatchError,
    Memory,
    MemorySystem,
    Scope,
    ValidationError,
)
from agent_memory.embeddings import Fingerprint, as_unit_rows
from agent_memory.validation import check_at_most, check_filters

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


class _NodeVectors:
    """The embedder of the memory system a store makes: LlamaIndex embeds the nodes, so it embeds
    nothing itself. Its fingerprint is the one the store has always recorded (``llama-index``, the
    nodes' size, queries by LlamaIndex's embed model), its size that of the vectors last given. No
    size is known before the first vectors; until the system is open a placeholder stands in (the
    system checks its embedder's type when made), after that asking is an error, so that no
    fingerprint without a size is ever recorded."""

    def __init__(self) -> None:
        self.size: int | None = None
        self.open = False

    @property
    def dimension(self) -> int:
        if self.size is None and self.open:
            raise ConfigurationError("no node has been added or queried yet: the vectors' size is not known")
        return self.size or 0

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint(model="llama-index", dimension=self.dimension, query_format="embed_model")

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        raise ConfigurationError("this store takes nodes LlamaIndex embedded; to embed texts, pass memory=")

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> np.ndarray[Any, Any]:
        raise ConfigurationError(
            "this store is searched with LlamaIndex's query embeddings; to search texts, pass memory="
        )


def _open(collection: str, path: str | None, client: ClientAPI | None) -> MemorySystem:
    """The memory system of a store made from ``path`` or ``client``: an embedded Chroma at ``path``
    (history beside it), a collection on ``client`` (history beside it too), else a private in-memory one."""
    embedder = _NodeVectors()
    if client is None:
        memory = MemorySystem(embedder=embedder, path=path or ":memory:", collection=collection)
    elif path is not None:
        raise ConfigurationError("pass either path= or client=, not both")
    else:
        memory = MemorySystem(embedder=embedder, store=ChromaStore.connect(collection, client=client))
    embedder.open = True
    return memory


class AgentMemoryVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store of one user's memories, kept by a :class:`~agent_memory.MemorySystem`.

    Nodes keep their ids, text, metadata and relationships (so ``delete`` by
    ``ref_doc_id`` works); every call is confined to ``user_id`` (and
    ``agent_id``/``session_id`` when given). ``MetadataFilters`` are translated to
    Chroma's ``where`` syntax for every operator it can express, combined with the
    user scope, and refused clearly otherwise. Similarities are cosine similarities,
    higher is better.

    Every write goes through the memory system, as its own writes do: each node is a memory stored
    under its id as the memory's key, with the node's embedding (:meth:`MemorySystem.put_memories`),
    so adds, replacements and deletes are in the memory's ``history`` and in its hybrid
    ``search_memory`` at once. Node ids are per scope: two users may use the same id.

    ``memory`` is the memory system to use (then ``collection_name``, ``path`` and ``client`` are
    its business, and the nodes must be embedded by its model: their size is checked); without it,
    one is made that takes the nodes' vectors as they come: an embedded persistent Chroma at
    ``path``, a collection on ``client``, else a private in-memory one.
    """

    stores_text: bool = True
    flat_metadata: bool = True
    user_id: str
    collection_name: str = DEFAULT_COLLECTION
    path: str | None = None
    agent_id: str | None = None
    session_id: str | None = None

    _memory: MemorySystem = PrivateAttr()
    _owns_memory: bool = PrivateAttr()
    _scope: Scope = PrivateAttr()

    def __init__(
        self,
        user_id: str,
        collection_name: str | None = None,
        path: str | None = None,
        client: ClientAPI | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        memory: MemorySystem | None = None,
        **kwargs: Any,
    ) -> None:
        scope = Scope.of(user_id, agent_id, session_id)
        if memory is not None and (collection_name is not None or path is not None or client is not None):
            raise ConfigurationError("pass either memory= or collection_name=/path=/client=, not both")
        super().__init__(
            user_id=user_id,
            collection_name=collection_name or (DEFAULT_COLLECTION if memory is None else memory.collection),
            path=path,
            agent_id=agent_id,
            session_id=session_id,
            **kwargs,
        )
        self._scope = scope
        self._owns_memory = memory is None
        self._memory = _open(self.collection_name, path, client) if memory is None else memory

    @classmethod
    def class_name(cls) -> str:
        return "AgentMemoryVectorStore"

    @property
    def memory(self) -> MemorySystem:
        """The memory system that keeps the nodes (its ``history``, ``search_memory``...)."""
        return self._memory

    @property
    def client(self) -> Any:
        """The memory system's :class:`~agent_memory.ChromaStore`."""
        return self._memory.store

    def close(self) -> None:
        """Close the memory system this store made (one passed as ``memory=`` stays open)."""
        if self._owns_memory:
            self._memory.close()

    def _in_scope(self) -> dict[str, Any]:
        return {"user_id": self._scope.user_id, "agent_id": self._scope.agent_id, "session_id": self._scope.session_id}

    # -- writing -------------------------------------------------------------------------

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Store nodes (with their embeddings) for this user; a node id that exists is replaced."""
        if not nodes:
            return []
        missing = [n.node_id for n in nodes if n.embedding is None]
        if missing:
            raise ValidationError(f"nodes {missing[:5]!r} have no embedding: embed them before adding")
        vectors = as_unit_rows([n.embedding for n in nodes], len(nodes), "the nodes' embeddings")
        self._check_size(vectors.shape[1])
        metadatas = [node_to_metadata_dict(n, remove_text=True, flat_metadata=self.flat_metadata) for n in nodes]
        self._memory.put_memories(
            [n.node_id for n in nodes],
            [n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes],
            metadatas=[{k: v for k, v in m.items() if v is not None} for m in metadatas],  # Chroma keeps no None
            vectors=vectors,
            **self._in_scope(),
        )
        return [n.node_id for n in nodes]

    def _check_size(self, size: int) -> None:
        """Vectors of ``size`` values fit this store's: a store's own system takes the size given
        (the collection's fingerprint then decides), a system of yours its embedder's."""
        embedder = self._memory.embedder
        if isinstance(embedder, _NodeVectors):
            embedder.size = size
        elif size != embedder.dimension:
            raise EmbedderMismatchError(
                f"the nodes' embeddings have {size} values, the memory system's {embedder.fingerprint}"
            )

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete this user's nodes that came from the document ``ref_doc_id``."""
        self._delete(self._find(None, None, {"ref_doc_id": ref_doc_id}))

    def delete_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **delete_kwargs: Any
    ) -> None:
        """Delete this user's nodes by id and/or filters (missing ids are no error)."""
        self._delete(self._find(node_ids, filters))

    def clear(self) -> None:
        """Delete every node of this user (and only this user's)."""
        self._memory.delete_all_memories(**self._in_scope())

    def _delete(self, found: list[Memory]) -> None:
        page = self._memory.limits.max_limit
        for start in range(0, len(found), page):
            self._memory.delete_memories(ids=[m.id for m in found[start : start + page]], **self._in_scope())

    # -- reading -------------------------------------------------------------------------

    def _find(
        self, node_ids: list[str] | None, filters: MetadataFilters | None, where: dict[str, Any] | None = None
    ) -> list[Memory]:
        """This user's memories that the node ids name (see :meth:`_named`) and the filters pass."""
        where = where or to_chroma_where(filters)
        if node_ids is None:
            return self._memory.list_memories(filters=where, include_expired=True, **self._in_scope())
        named = self._named(node_ids)
        if where is None:
            return named
        return self._memory.store.get(
            [m.id for m in named], self._scope, filters=check_filters(where, self._memory.limits)
        )

    def _named(self, node_ids: Sequence[str]) -> list[Memory]:
        """The memories these node ids name, in the order asked: the one stored under the id as its key,
        else one stored without a key (by an older version of this store, or ``store_memory``) that has
        the id itself."""
        keyed = {m.key: m for m in self._memory.get_memories(keys=node_ids, **self._in_scope())}
        rest = [i for i in node_ids if i not in keyed]
        plain = {m.id: m for m in self._memory.get_memories(ids=rest, **self._in_scope()) if m.key is None}
        return [m for m in (keyed.get(i) or plain.get(i) for i in node_ids) if m is not None]

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None, **kwargs: Any
    ) -> list[BaseNode]:
        """This user's nodes by id and/or filters."""
        return [self._node(m) for m in self._find(node_ids, filters)]

    @staticmethod
    def _node(memory: Memory) -> BaseNode:
        """The node a memory holds; a memory stored otherwise (``store_memory``) as a text node."""
        if "_node_content" not in memory.metadata:
            return TextNode(id_=memory.key or memory.id, text=memory.text, metadata=dict(memory.metadata))
        node = metadata_dict_to_node(dict(memory.metadata), text=memory.text)
        node.embedding = None
        return node

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Nearest nodes of this user to ``query.query_embedding``; default and MMR modes."""
        if query.mode not in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR):
            raise ValidationError(f"query mode {query.mode.value!r} is not supported; use 'default' or 'mmr'")
        if query.query_embedding is None:
            raise ValidationError("this vector store needs query.query_embedding")
        top_k = check_at_most(query.similarity_top_k, "similarity_top_k", self._memory.limits)
        doc_filter = {"ref_doc_id": {"$in": list(query.doc_ids)}} if query.doc_ids else None
        where = _and(to_chroma_where(query.filters), doc_filter)
        vector = as_unit_rows([query.query_embedding], 1, "the query embedding")[0]
        self._check_size(vector.shape[0])
        fetch = top_k * _MMR_PREFETCH if query.mode == VectorStoreQueryMode.MMR else top_k
        # An empty node_ids means no restriction: VectorStoreIndex passes [] for stores that keep the text.
        ids = [m.id for m in self._named(query.node_ids)] if query.node_ids else None
        hits = [] if ids == [] else self._memory.store.query(vector, self._scope, filters=where, top_k=fetch, ids=ids)
        if query.mode == VectorStoreQueryMode.MMR and hits:
            hits = self._mmr(vector, hits, top_k, query.mmr_threshold)
        return VectorStoreQueryResult(
            nodes=[self._node(m) for m, _ in hits],
            similarities=[s for _, s in hits],
            ids=[m.key or m.id for m, _ in hits],
        )

    def _mmr(
        self, vector: np.ndarray[Any, Any], hits: list[tuple[Memory, float]], top_k: int, threshold: float | None
    ) -> list[tuple[Memory, float]]:
        ids = [m.id for m, _ in hits]
        vectors = self._memory.store.vectors(ids, self._scope)
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
