"""AgentMemoryVectorStore in real LlamaIndex pipelines, with filters, deletion, MMR and user scopes, and
writes through the memory system (history, hybrid search)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)
from llama_index.embeddings.agent_memory import Qwen3Embedding
from llama_index.vector_stores.agent_memory import AgentMemoryVectorStore, UnsupportedFilterError, to_chroma_where

from agent_memory import ConfigurationError, EmbedderMismatchError, MemorySystem, ValidationError
from agent_memory.embeddings import Fingerprint
from agent_memory.testing import HashEmbedder

DOCS = [
    Document(
        text="Alice likes coffee, black with no sugar.", id_="d-coffee", metadata={"topic": "drink", "year": 2023}
    ),
    Document(
        text="Alice has a dog named Rex who loves the beach.", id_="d-dog", metadata={"topic": "pet", "year": 2024}
    ),
    Document(text="Alice moved to Lisbon for a new job.", id_="d-home", metadata={"topic": "home", "year": 2025}),
]


@pytest.fixture
def embed_model(minilm: str) -> Qwen3Embedding:
    return Qwen3Embedding(model_name=minilm)


@pytest.fixture
def index(embed_model: Qwen3Embedding) -> Iterator[VectorStoreIndex]:
    store = AgentMemoryVectorStore(user_id="alice")
    context = StorageContext.from_defaults(vector_store=store)
    yield VectorStoreIndex.from_documents(DOCS, storage_context=context, embed_model=embed_model)
    store.close()


def _store(index: VectorStoreIndex) -> AgentMemoryVectorStore:
    store = index.vector_store
    assert isinstance(store, AgentMemoryVectorStore)
    return store


def test_retriever_finds_the_right_node_with_ordered_scores(index: VectorStoreIndex) -> None:
    results = index.as_retriever(similarity_top_k=3).retrieve("What does Alice drink?")
    assert results[0].node.ref_doc_id == "d-coffee"
    assert "coffee" in results[0].node.get_content()
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True) and all(s is not None and -1 <= s <= 1 for s in scores)
    assert results[0].node.metadata["topic"] == "drink"


def test_filters_in_a_retriever(index: VectorStoreIndex) -> None:
    filters = MetadataFilters(filters=[MetadataFilter(key="topic", value="pet")])
    results = index.as_retriever(similarity_top_k=3, filters=filters).retrieve("What does Alice drink?")
    assert [r.node.ref_doc_id for r in results] == ["d-dog"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            MetadataFilters(filters=[MetadataFilter(key="year", value=2024, operator=FilterOperator.GTE)]),
            {"d-dog", "d-home"},
        ),
        (MetadataFilters(filters=[MetadataFilter(key="year", value=2024, operator=FilterOperator.GT)]), {"d-home"}),
        (MetadataFilters(filters=[MetadataFilter(key="year", value=2024, operator=FilterOperator.LT)]), {"d-coffee"}),
        (
            MetadataFilters(filters=[MetadataFilter(key="year", value=2024, operator=FilterOperator.LTE)]),
            {"d-coffee", "d-dog"},
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="topic", value="pet", operator=FilterOperator.NE)]),
            {"d-coffee", "d-home"},
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="topic", value=["pet", "home"], operator=FilterOperator.IN)]),
            {"d-dog", "d-home"},
        ),
        (
            MetadataFilters(filters=[MetadataFilter(key="topic", value=["pet", "home"], operator=FilterOperator.NIN)]),
            {"d-coffee"},
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="topic", value="pet"), MetadataFilter(key="year", value=2023)],
                condition=FilterCondition.OR,
            ),
            {"d-dog", "d-coffee"},
        ),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="topic", value="pet"), MetadataFilter(key="year", value=2023)],
                condition=FilterCondition.NOT,
            ),
            {"d-home"},
        ),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="year", value=2023, operator=FilterOperator.GT),
                    MetadataFilters(
                        filters=[MetadataFilter(key="topic", value="pet"), MetadataFilter(key="topic", value="drink")],
                        condition=FilterCondition.OR,
                    ),
                ],
                condition=FilterCondition.AND,
            ),
            {"d-dog"},
        ),
    ],
)
def test_every_expressible_filter_works_on_the_store(
    index: VectorStoreIndex, embed_model: Qwen3Embedding, filters: MetadataFilters, expected: set[str]
) -> None:
    query = VectorStoreQuery(
        query_embedding=embed_model.get_query_embedding("Alice"), similarity_top_k=10, filters=filters
    )
    result = _store(index).query(query)
    assert {n.ref_doc_id for n in result.nodes or []} == expected
    assert {n.ref_doc_id for n in _store(index).get_nodes(filters=filters)} == expected


def test_filter_translation() -> None:
    assert to_chroma_where(MetadataFilters(filters=[MetadataFilter(key="a", value=1)])) == {"a": {"$eq": 1}}
    negated = MetadataFilters(
        filters=[
            MetadataFilter(key="a", value=1, operator=FilterOperator.GT),
            MetadataFilter(key="b", value=["x"], operator=FilterOperator.IN),
        ],
        condition=FilterCondition.NOT,
    )
    assert to_chroma_where(negated) == {"$and": [{"a": {"$lte": 1}}, {"b": {"$nin": ["x"]}}]}
    any_of = MetadataFilters(filters=[MetadataFilter(key="tags", value=["x", "y"], operator=FilterOperator.ANY)])
    assert to_chroma_where(any_of) == {"$or": [{"tags": {"$contains": "x"}}, {"tags": {"$contains": "y"}}]}
    all_of = MetadataFilters(filters=[MetadataFilter(key="tags", value=["x", "y"], operator=FilterOperator.ALL)])
    assert to_chroma_where(all_of) == {"$and": [{"tags": {"$contains": "x"}}, {"tags": {"$contains": "y"}}]}
    contains = MetadataFilters(filters=[MetadataFilter(key="tags", value="x", operator=FilterOperator.CONTAINS)])
    assert to_chroma_where(contains) == {"tags": {"$contains": "x"}}


@pytest.mark.parametrize(
    "operator", [FilterOperator.TEXT_MATCH, FilterOperator.TEXT_MATCH_INSENSITIVE, FilterOperator.IS_EMPTY]
)
def test_inexpressible_filters_are_clear_errors(operator: FilterOperator, index: VectorStoreIndex) -> None:
    filters = MetadataFilters(filters=[MetadataFilter(key="topic", value="pe", operator=operator)])
    with pytest.raises(UnsupportedFilterError, match=operator.value):
        to_chroma_where(filters)
    with pytest.raises(ValueError):
        index.as_retriever(filters=filters).retrieve("Alice")


def test_delete_by_ref_doc_id_and_nodes(index: VectorStoreIndex) -> None:
    store = _store(index)
    index.delete_ref_doc("d-coffee")
    results = index.as_retriever(similarity_top_k=3).retrieve("What does Alice drink?")
    assert "d-coffee" not in {r.node.ref_doc_id for r in results} and len(results) == 2
    dog = store.get_nodes(filters=MetadataFilters(filters=[MetadataFilter(key="topic", value="pet")]))[0]
    assert store.get_nodes(node_ids=[dog.node_id])[0].get_content() == dog.get_content()
    store.delete_nodes(node_ids=[dog.node_id, "missing-id"])
    assert store.get_nodes(node_ids=[dog.node_id]) == []
    store.clear()
    assert store.get_nodes() == []


def test_mmr_mode(index: VectorStoreIndex, embed_model: Qwen3Embedding) -> None:
    query = VectorStoreQuery(
        query_embedding=embed_model.get_query_embedding("What does Alice drink?"),
        similarity_top_k=2,
        mode=VectorStoreQueryMode.MMR,
        mmr_threshold=0.5,
    )
    result = _store(index).query(query)
    assert len(result.nodes or []) == 2 and (result.nodes or [])[0].ref_doc_id == "d-coffee"
    with pytest.raises(ValidationError, match="mode"):
        _store(index).query(VectorStoreQuery(query_embedding=[0.1] * 384, mode=VectorStoreQueryMode.HYBRID))


def test_users_never_see_each_others_nodes(tmp_path: object) -> None:
    path = str(tmp_path)
    alice, bob = AgentMemoryVectorStore(user_id="alice", path=path), AgentMemoryVectorStore(user_id="bob", path=path)
    alice.add([TextNode(text="alice's secret", id_="a1", embedding=[1.0, 0.0, 0.0])])
    bob.add([TextNode(text="bob's note", id_="b1", embedding=[0.0, 1.0, 0.0])])
    result = bob.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=10))
    assert result.ids == ["b1"]
    widening = MetadataFilters(filters=[MetadataFilter(key="user_id", value="alice")])
    assert bob.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0], similarity_top_k=10, filters=widening)).ids == []
    assert bob.get_nodes(node_ids=["a1"]) == []
    bob.delete_nodes(node_ids=["a1"])
    bob.clear()
    assert alice.get_nodes(node_ids=["a1"])[0].get_content() == "alice's secret"
    bob.add([TextNode(text="bob's own a1", id_="a1", embedding=[1.0, 0.0, 0.0])])  # ids are per user
    assert alice.get_nodes(node_ids=["a1"])[0].get_content() == "alice's secret"
    assert bob.get_nodes(node_ids=["a1"])[0].get_content() == "bob's own a1"
    with pytest.raises(ValidationError, match="no embedding"):
        bob.add([TextNode(text="unembedded")])
    alice.close()
    bob.close()


async def test_async_twins(index: VectorStoreIndex, embed_model: Qwen3Embedding) -> None:
    store = _store(index)
    query = VectorStoreQuery(query_embedding=await embed_model.aget_query_embedding("coffee"), similarity_top_k=1)
    result = await store.aquery(query)
    assert (result.nodes or [])[0].ref_doc_id == "d-coffee"
    ids = await store.async_add([TextNode(text="Alice plays cello", id_="n-cello", embedding=[0.1] * 384)])
    assert [n.node_id for n in await store.aget_nodes(node_ids=ids)] == ["n-cello"]
    await store.adelete_nodes(node_ids=ids)
    await store.adelete("d-dog")
    assert {n.ref_doc_id for n in await store.aget_nodes()} == {"d-coffee", "d-home"}
    await store.aclear()
    assert await store.aget_nodes() == []


def test_a_created_at_filter_is_the_creation_time_every_node_carries(index: VectorStoreIndex) -> None:
    since = MetadataFilters(filters=[MetadataFilter(key="created_at", value="2026-01-01", operator=FilterOperator.GTE)])
    assert to_chroma_where(since) == {"created_ms": {"$gte": 1767225600000}}
    retriever = index.as_retriever(similarity_top_k=10, filters=since)
    assert len(retriever.retrieve("Alice")) > 0  # the nodes were stored now, after 2026-01-01
    future = datetime.now(timezone.utc) + timedelta(days=1)
    after = MetadataFilters(
        filters=[MetadataFilter(key="created_at", value=future.isoformat(), operator=FilterOperator.GT)]
    )
    assert index.as_retriever(similarity_top_k=10, filters=after).retrieve("Alice") == []
    with pytest.raises(UnsupportedFilterError, match="created_at takes"):
        to_chroma_where(MetadataFilters(filters=[MetadataFilter(key="created_at", value="2026-01-01")]))
    with pytest.raises(UnsupportedFilterError, match="not with None"):
        none = MetadataFilter(key="created_at", value=None, operator=FilterOperator.GT)
        to_chroma_where(MetadataFilters(filters=[none]))


def test_writes_are_in_the_history_and_the_next_hybrid_search_at_once() -> None:
    """Through LlamaIndex's own pipeline (the index adds and deletes nodes), on an index built before
    the writes: each write is in the memory's history, and the next hybrid search finds the node by a
    word that only BM25 can match (MockEmbedding gives every text the same vector)."""
    with MemorySystem(embedder=HashEmbedder(16), path=":memory:") as memory:
        store = AgentMemoryVectorStore(user_id="alice", memory=memory)
        notes = [Document(text=f"Alice wrote note number {i}", id_=f"note-{i}") for i in range(10)]
        index = VectorStoreIndex.from_documents(
            notes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=MockEmbedding(16)
        )
        memory.search_memory("note", user_id="alice")  # builds the lexical index: later writes must reach it
        index.insert(Document(text="Alice keeps a zebra called Stripes", id_="zebra-doc"))
        hit = memory.search_memory("zebra", user_id="alice", top_k=1)[0]
        assert (hit.text, hit.memory.metadata["ref_doc_id"]) == ("Alice keeps a zebra called Stripes", "zebra-doc")
        assert hit.score > max(hit.similarity, 0.0) + 0.2  # raised by BM25 evidence, not by the vectors
        assert [n.get_content() for n in store.get_nodes(node_ids=[str(hit.memory.key)])] == [hit.text]
        index.delete_ref_doc("zebra-doc")
        assert [e.action for e in memory.history(hit.memory.id, user_id="alice")] == ["create", "delete"]
        assert all("zebra" not in h.text for h in memory.search_memory("zebra", user_id="alice", top_k=20))
        store.close()  # the system stays open: it is the caller's
        assert memory.count(user_id="alice") == 10


def test_a_store_over_a_memory_system_of_yours_takes_its_size_and_shows_its_memories() -> None:
    with MemorySystem(embedder=HashEmbedder(4), path=":memory:") as memory:
        store = AgentMemoryVectorStore(user_id="alice", memory=memory)
        plain = memory.store_memory("Alice likes tea", user_id="alice")
        store.add([TextNode(text="Alice has a cat", id_="cat", embedding=[1.0, 0.0, 0.0, 0.0])])
        found = store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0, 0.0], similarity_top_k=5))
        assert sorted(found.ids or []) == sorted(["cat", plain.id])
        assert [n.get_content() for n in store.get_nodes(node_ids=[plain.id, "cat"])] == [plain.text, "Alice has a cat"]
        store.delete_nodes(node_ids=[plain.id])
        assert [e.action for e in memory.history(plain.id, user_id="alice")] == ["create", "delete"]
        with pytest.raises(EmbedderMismatchError, match="4 dims"):
            store.add([TextNode(text="Alice reads", id_="read", embedding=[1.0, 0.0, 0.0])])
        with pytest.raises(ConfigurationError, match="not both"):
            AgentMemoryVectorStore(user_id="alice", memory=memory, path="./elsewhere")


def test_a_collection_written_before_opens_with_the_fingerprint_it_recorded(tmp_path: object) -> None:
    """The store's own memory system records what the store always recorded, takes a size only from
    vectors, and refuses another; its history has every write."""
    store = AgentMemoryVectorStore(user_id="alice", path=str(tmp_path))
    with pytest.raises(ConfigurationError, match="size is not known"):
        store.memory.search_memory("anything", user_id="alice")  # nothing is recorded without a size
    store.add([TextNode(text="Alice has a cat", id_="cat", embedding=[1.0, 0.0, 0.0])])
    assert store.client.fingerprint == Fingerprint("llama-index", 3, "embed_model")
    with pytest.raises(ConfigurationError, match="search texts"):
        store.memory.search_memory("anything", user_id="alice")
    cat = store.memory.get_memories(user_id="alice", keys=["cat"])[0]
    assert [e.action for e in store.memory.history(cat.id, user_id="alice")] == ["create"]
    store.close()
    again = AgentMemoryVectorStore(user_id="alice", path=str(tmp_path))
    with pytest.raises(EmbedderMismatchError):
        again.add([TextNode(text="Alice reads", id_="read", embedding=[1.0, 0.0, 0.0, 0.0])])
    again.add([TextNode(text="Alice reads", id_="read", embedding=[0.0, 1.0, 0.0])])
    assert sorted(n.node_id for n in again.get_nodes()) == ["cat", "read"]
    again.close()
