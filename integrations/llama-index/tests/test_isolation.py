"""Property-based: the vector store's user scope holds whatever nodes, ids and MetadataFilters."""

from __future__ import annotations

import uuid

import chromadb
from chromadb.config import Settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.agent_memory import AgentMemoryVectorStore

USERS = ["alice", "bob", "carol"]
CLIENT = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))

nodes = st.lists(
    st.tuples(st.sampled_from(USERS), st.lists(st.floats(-1, 1), min_size=4, max_size=4), st.sampled_from(["a", "b"])),
    min_size=1,
    max_size=20,
).filter(lambda rows: all(any(abs(x) > 1e-3 for x in v) for _, v, _ in rows))
widening = st.sampled_from(
    [
        None,
        MetadataFilters(filters=[MetadataFilter(key="user_id", value="bob")]),
        MetadataFilters(filters=[MetadataFilter(key="user_id", value="alice", operator=FilterOperator.NE)]),
        MetadataFilters(
            filters=[MetadataFilter(key="user_id", value="carol"), MetadataFilter(key="tag", value="a")],
            condition=FilterCondition.OR,
        ),
        MetadataFilters(filters=[MetadataFilter(key="user_id", value="alice")], condition=FilterCondition.NOT),
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=nodes, filters=widening)
def test_alice_never_reaches_another_users_nodes(rows: list[tuple[str, list[float], str]], filters: object) -> None:
    collection = f"prop-{uuid.uuid4().hex}"
    stores = {u: AgentMemoryVectorStore(user_id=u, collection_name=collection, client=CLIENT) for u in USERS}
    owner: dict[str, str] = {}
    texts: dict[str, str] = {}
    for n, (user, vector, tag) in enumerate(rows):
        node = TextNode(text=f"node {n}", id_=f"n{n}", embedding=vector, metadata={"tag": tag})
        stores[user].add([node])
        owner[node.node_id], texts[node.node_id] = user, node.get_content()
    alice = stores["alice"]
    foreign = [i for i, u in owner.items() if u != "alice"]
    query = VectorStoreQuery(query_embedding=[0.5, 0.5, 0.5, 0.5], similarity_top_k=50, filters=filters)  # type: ignore[arg-type]
    assert all(owner[i] == "alice" for i in alice.query(query).ids or [])
    assert all(owner[n.node_id] == "alice" for n in alice.get_nodes(filters=filters))  # type: ignore[arg-type]
    assert alice.get_nodes(node_ids=foreign) == [] if foreign else True
    if foreign:
        alice.delete_nodes(node_ids=foreign)
    alice.clear()
    for node_id in foreign:
        assert [n.get_content() for n in stores[owner[node_id]].get_nodes(node_ids=[node_id])] == [texts[node_id]]
    if foreign:  # ids are per user: another user's node id names a node of alice's own, theirs stays as it was
        alice.add([TextNode(text="overwrite", id_=node_id, embedding=[1.0, 0.0, 0.0, 0.0]) for node_id in foreign])
        assert [n.get_content() for n in alice.get_nodes(node_ids=foreign)] == ["overwrite"] * len(foreign)
        for node_id in foreign:
            assert [n.get_content() for n in stores[owner[node_id]].get_nodes(node_ids=[node_id])] == [texts[node_id]]
        alice.clear()
    assert alice.get_nodes() == []
