"""Property-based: the vector store's user scope holds whatever documents, ids and filters."""

from __future__ import annotations

import uuid
from typing import Any

import chromadb
from chromadb.config import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_agent_memory import AgentMemoryVectorStore
from langchain_core.embeddings import DeterministicFakeEmbedding

USERS = ["alice", "bob", "carol"]
CLIENT = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))

documents = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(["coffee", "tea", "dog", "Lisbon"]), st.sampled_from(["a", "b"])),
    min_size=1,
    max_size=20,
)
filters = st.sampled_from(
    [
        None,
        {"user_id": "bob"},
        {"user_id": {"$ne": "alice"}},
        {"user_id": {"$nin": ["alice"]}},
        {"$or": [{"user_id": "carol"}, {"tag": "a"}]},
        {"tag": "b"},
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=documents, where=filters)
def test_alice_never_reaches_another_users_documents(rows: list[tuple[str, str, str]], where: Any) -> None:
    collection, embedding = f"prop-{uuid.uuid4().hex}", DeterministicFakeEmbedding(size=6)
    stores = {u: AgentMemoryVectorStore(embedding, user_id=u, collection_name=collection, client=CLIENT) for u in USERS}
    owner: dict[str, str] = {}
    texts: dict[str, str] = {}
    for user, text, tag in rows:
        (doc_id,) = stores[user].add_texts([text], metadatas=[{"tag": tag}])
        owner[doc_id], texts[doc_id] = user, text
    alice = stores["alice"]
    foreign = [i for i, u in owner.items() if u != "alice"]
    found = alice.similarity_search_with_score("coffee", k=50, filter=where)
    assert all(owner[doc.id] == "alice" for doc, _ in found if doc.id)
    assert all(
        owner[doc.id] == "alice" for doc in alice.max_marginal_relevance_search("tea", k=5, filter=where) if doc.id
    )
    assert alice.get_by_ids(foreign) == []
    alice.delete(foreign)
    alice.delete()  # every document of alice's, and only hers
    for doc_id in foreign:
        assert [d.page_content for d in stores[owner[doc_id]].get_by_ids([doc_id])] == [texts[doc_id]]
    if foreign:  # ids are per user: another user's id names a document of alice's own, theirs stays as it was
        alice.add_texts(["overwrite"] * len(foreign), ids=foreign)
        assert [d.page_content for d in alice.get_by_ids(foreign)] == ["overwrite"] * len(foreign)
        for doc_id in foreign:
            assert [d.page_content for d in stores[owner[doc_id]].get_by_ids([doc_id])] == [texts[doc_id]]
        alice.delete()
    assert alice.similarity_search("coffee", k=50) == []
