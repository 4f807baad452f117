"""AgentMemoryVectorStore beyond the standard suite: scores, MMR, retrievers, scopes, real semantics, and
writes through the memory system (history, hybrid search)."""

from __future__ import annotations

from collections.abc import Iterator

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings
from langchain_agent_memory import AgentMemoryVectorStore, LangChainEmbedder, Qwen3Embeddings
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding

from agent_memory import (
    ChromaStore,
    ConfigurationError,
    EmbedderMismatchError,
    InvalidFilterError,
    MemorySystem,
    ValidationError,
)
from agent_memory.embeddings import Fingerprint

FACTS = [
    "Alice likes coffee",
    "Alice drinks a double espresso every morning",
    "Alice has a dog named Rex",
    "Alice lives in Lisbon",
    "Alice is allergic to peanuts",
]


@pytest.fixture
def store(minilm: str) -> Iterator[AgentMemoryVectorStore]:
    vectorstore = AgentMemoryVectorStore.from_texts(
        FACTS,
        Qwen3Embeddings(model=minilm),
        metadatas=[{"topic": t} for t in ["drink", "drink", "pet", "home", "health"]],
        user_id="alice",
    )
    yield vectorstore
    vectorstore.close()


def test_scores_are_cosine_similarities_best_first(store: AgentMemoryVectorStore) -> None:
    results = store.similarity_search_with_score("What does Alice drink?", k=5)
    assert results[0][0].page_content == "Alice likes coffee"
    scores = [s for _, s in results]
    assert scores == sorted(scores, reverse=True)
    query = np.array(store.embeddings.embed_query("What does Alice drink?"))
    docs = np.array(store.embeddings.embed_documents([d.page_content for d, _ in results]))
    np.testing.assert_allclose(scores, docs @ query, atol=1e-4)
    relevance = store.similarity_search_with_relevance_scores("What does Alice drink?", k=5)
    assert [s for _, s in relevance] == pytest.approx(scores)


def test_retrievers_of_all_three_search_types(store: AgentMemoryVectorStore) -> None:
    similarity = store.as_retriever(search_kwargs={"k": 2}).invoke("What does Alice drink?")
    assert similarity[0].page_content == "Alice likes coffee" and len(similarity) == 2
    threshold = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"score_threshold": 0.6, "k": 5}
    ).invoke("What does Alice drink?")
    assert threshold and all(d.page_content.startswith("Alice") for d in threshold)
    assert "Alice lives in Lisbon" not in [d.page_content for d in threshold]
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 5, "lambda_mult": 0.1}).invoke(
        "What does Alice drink?"
    )
    assert len(mmr) == 2 and mmr[0].page_content == "Alice likes coffee"
    assert mmr[1].page_content != "Alice drinks a double espresso every morning"  # diversity over redundancy


def test_mmr_with_full_relevance_equals_similarity(store: AgentMemoryVectorStore) -> None:
    mmr = store.max_marginal_relevance_search("What does Alice drink?", k=3, fetch_k=5, lambda_mult=1.0)
    plain = store.similarity_search("What does Alice drink?", k=3)
    assert [d.id for d in mmr] == [d.id for d in plain]


def test_metadata_filters(store: AgentMemoryVectorStore) -> None:
    docs = store.similarity_search("Alice", k=5, filter={"topic": "drink"})
    assert {d.page_content for d in docs} == set(FACTS[:2])
    assert store.similarity_search("Alice", k=5, filter={"topic": {"$in": ["pet", "home"]}})[0].metadata["topic"] in {
        "pet",
        "home",
    }
    with pytest.raises(InvalidFilterError):
        store.similarity_search("Alice", filter={"topic": {"$regex": 1}})


async def test_async_twins(store: AgentMemoryVectorStore) -> None:
    docs = await store.asimilarity_search("What does Alice drink?", k=1)
    assert docs[0].page_content == "Alice likes coffee"
    scored = await store.asimilarity_search_with_relevance_scores("What does Alice drink?", k=1)
    assert scored[0][0].page_content == "Alice likes coffee"
    mmr = await store.amax_marginal_relevance_search("What does Alice drink?", k=2, fetch_k=5)
    assert len(mmr) == 2
    ids = await store.aadd_texts(["Alice plays the cello"])
    assert (await store.aget_by_ids(ids))[0].page_content == "Alice plays the cello"
    await store.adelete(ids)
    assert await store.aget_by_ids(ids) == []


def test_users_never_see_each_others_documents(tmp_path: object) -> None:
    embedding = DeterministicFakeEmbedding(size=6)
    path = str(tmp_path)
    alice = AgentMemoryVectorStore(embedding, user_id="alice", path=path)
    bob = AgentMemoryVectorStore(embedding, user_id="bob", path=path)
    alice.add_documents([Document(id="a1", page_content="alice's secret")])
    bob.add_documents([Document(id="b1", page_content="bob's note")])
    assert [d.page_content for d in bob.similarity_search("alice's secret", k=10)] == ["bob's note"]
    for widening in ({"user_id": "alice"}, {"$or": [{"user_id": "alice"}, {"user_id": "bob"}]}):
        assert all(d.id == "b1" for d in bob.similarity_search("secret", k=10, filter=widening))
    assert bob.get_by_ids(["a1"]) == []
    bob.delete(["a1"])
    assert alice.get_by_ids(["a1"])[0].page_content == "alice's secret"
    bob.add_texts(["bob's own a1"], ids=["a1"])  # ids are per user: bob's "a1" is a document of his own
    assert alice.get_by_ids(["a1"])[0].page_content == "alice's secret"
    assert bob.get_by_ids(["a1"])[0].page_content == "bob's own a1"
    bob.delete()  # None: every document of bob, and only bob's
    assert bob.get_by_ids(["b1", "a1"]) == [] and alice.get_by_ids(["a1"])
    alice.close()
    bob.close()


def test_from_documents_keeps_ids_and_needs_a_user() -> None:
    embedding = DeterministicFakeEmbedding(size=6)
    docs = [Document(id="x1", page_content="one", metadata={"n": 1}), Document(page_content="two")]
    store = AgentMemoryVectorStore.from_documents(docs, embedding, user_id="alice")
    assert store.get_by_ids(["x1"]) == [Document(id="x1", page_content="one", metadata={"n": 1})]
    assert store.similarity_search("two", k=1)[0].page_content == "two"
    store.close()
    with pytest.raises(ValidationError, match="user_id"):
        AgentMemoryVectorStore.from_texts(["x"], embedding)


def test_bad_input_writes_nothing() -> None:
    store = AgentMemoryVectorStore(DeterministicFakeEmbedding(size=6), user_id="alice")
    store.add_texts(["kept"], ids=["k"])
    for call in (
        lambda: store.add_texts(["", "x"]),
        lambda: store.add_texts(["x"], metadatas=[{"nested": {"a": 1}}]),
        lambda: store.add_texts(["x", "y"], ids=["same", "same"]),
        lambda: store.add_texts(["x"], ids=["a", "b"]),
        lambda: store.similarity_search("x", k=0),
    ):
        with pytest.raises(ValidationError):
            call()
    assert [d.id for d in store.similarity_search("kept", k=10)] == ["k"]
    with pytest.raises(ValidationError):
        AgentMemoryVectorStore(DeterministicFakeEmbedding(size=6), user_id="")
    store.close()


def test_writes_are_in_the_history_and_the_next_hybrid_search_at_once() -> None:
    """Through LangChain's own add_documents and delete, on an index built before the writes: each
    write is in the memory's history, and the next hybrid search finds the document by a word that
    only BM25 can match (the fake embeddings' vectors carry no meaning)."""
    store = AgentMemoryVectorStore(DeterministicFakeEmbedding(size=16), user_id="alice")
    memory = store.memory
    store.add_documents([Document(id=f"d{i}", page_content=f"Alice wrote note number {i}") for i in range(20)])
    memory.search_memory("note", user_id="alice")  # builds the lexical index: later writes must reach it
    store.add_documents([Document(id="zebra", page_content="Alice keeps a zebra called Stripes")])
    hit = memory.search_memory("zebra", user_id="alice", top_k=1)[0]
    assert (hit.memory.key, hit.text) == ("zebra", "Alice keeps a zebra called Stripes")
    assert hit.score > max(hit.similarity, 0.0) + 0.2  # raised by BM25 evidence, not by the vectors
    store.add_documents([Document(id="zebra", page_content="Alice keeps a zebra called Dash")])
    assert memory.search_memory("Dash", user_id="alice", top_k=1)[0].memory.id == hit.memory.id
    store.delete(["zebra"])
    events = memory.history(hit.memory.id, user_id="alice")
    assert [(e.action, e.new_text) for e in events] == [
        ("create", "Alice keeps a zebra called Stripes"),
        ("update", "Alice keeps a zebra called Dash"),
        ("delete", None),
    ]
    assert "zebra" not in {h.memory.key for h in memory.search_memory("zebra Dash", user_id="alice", top_k=30)}
    store.close()


def test_a_store_over_a_memory_system_of_yours() -> None:
    """memory=: the store reads and writes that system; its own memories are documents too, named by
    their ids; the store's embedding must be the system's."""
    embedding = DeterministicFakeEmbedding(size=16)
    with MemorySystem(embedder=LangChainEmbedder(embedding), path=":memory:") as memory:
        store = AgentMemoryVectorStore(embedding, user_id="alice", memory=memory)
        plain = memory.store_memory("Alice likes tea", user_id="alice")
        store.add_texts(["Alice has a cat"], ids=["cat"])
        assert {d.id for d in store.similarity_search("tea", k=5)} == {plain.id, "cat"}
        assert [d.page_content for d in store.get_by_ids([plain.id, "cat"])] == ["Alice likes tea", "Alice has a cat"]
        store.delete([plain.id])
        assert [e.action for e in memory.history(plain.id, user_id="alice")] == ["create", "delete"]
        store.close()  # the system stays open: it is the caller's
        assert memory.get_memories(user_id="alice", keys=["cat"])[0].text == "Alice has a cat"
        with pytest.raises(ConfigurationError, match="embeds with"):
            AgentMemoryVectorStore(DeterministicFakeEmbedding(size=8), user_id="alice", memory=memory)
        with pytest.raises(ConfigurationError, match="not both"):
            AgentMemoryVectorStore(embedding, user_id="alice", memory=memory, path="./elsewhere")


def test_a_collection_written_before_opens_with_the_fingerprint_it_recorded() -> None:
    """The fingerprint the store recorded before it wrote through a memory system, spelled out."""
    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    old = Fingerprint("langchain:langchain_core.embeddings.fake.DeterministicFakeEmbedding", 6, "embed_query")
    ChromaStore.connect("recorded", client=client)._check_fingerprint(old)  # as a store of before wrote it
    store = AgentMemoryVectorStore(
        DeterministicFakeEmbedding(size=6), user_id="alice", client=client, collection_name="recorded"
    )
    store.add_texts(["Alice likes tea"], ids=["tea"])
    assert store.memory.embedder.fingerprint == old and store.get_by_ids(["tea"])[0].page_content == "Alice likes tea"
    with pytest.raises(EmbedderMismatchError):
        AgentMemoryVectorStore(
            DeterministicFakeEmbedding(size=8), user_id="alice", client=client, collection_name="recorded"
        ).add_texts(["x"])
