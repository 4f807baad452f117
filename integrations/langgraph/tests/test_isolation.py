"""Property-based: no sequence of operations under one user's namespaces reads or changes another's items."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, Op, PutOp, SearchOp
from langgraph_agent_memory import AgentMemoryStore

from agent_memory import MemorySystem
from agent_memory.testing import HashEmbedder

KEYS = ["k1", "k2", "shared"]
TEXTS = ["Alice likes tea", "Bob likes tea", "user_id bob", "tea"]
OTHERS = {("memories", "bob"): "bob", ("memories", "bob", "planner"): "bob", ("memories", "carol"): "carol"}

alice_namespaces = st.sampled_from(
    [("memories", "alice"), ("memories", "alice", "planner"), ("memories", "alice", "planner", "s1")]
)
values = st.builds(
    lambda text, owner, n: {"content": text, "user_id": owner, "n": n},
    st.sampled_from(TEXTS),
    st.sampled_from(["alice", "bob"]),
    st.integers(0, 3),
)
filters = st.sampled_from([None, {"user_id": "bob"}, {"n": {"$gte": 1}}, {"user_id": {"$ne": "alice"}}])
operations = st.one_of(
    st.builds(
        lambda ns, key, value: PutOp(ns, key, value),
        alice_namespaces,
        st.sampled_from(KEYS),
        st.one_of(st.none(), values),
    ),
    st.builds(lambda ns, key: GetOp(ns, key), alice_namespaces, st.sampled_from(KEYS)),
    st.builds(
        lambda ns, where, query: SearchOp(ns, where, 50, 0, query),
        alice_namespaces,
        filters,
        st.sampled_from([None, "tea", "bob"]),
    ),
    st.builds(
        lambda path: ListNamespacesOp((MatchCondition("prefix", path),), None, 100, 0),
        st.sampled_from([("memories", "alice"), ("memories", "alice", "*")]),
    ),
)


def _snapshot(store: AgentMemoryStore) -> dict[tuple[tuple[str, ...], str], Any]:
    found = {}
    for namespace in OTHERS:
        for key in KEYS:
            item = store.get(namespace, key, refresh_ttl=False)
            found[(namespace, key)] = None if item is None else (item.value, item.updated_at)
    return found


def _namespaces(result: object) -> list[tuple[str, ...]]:
    if result is None:
        return []
    if isinstance(result, list):
        return [r if isinstance(r, tuple) else r.namespace for r in result]
    return [result.namespace]  # type: ignore[attr-defined]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operations, min_size=1, max_size=12))
def test_alice_never_reaches_another_users_items(ops: list[Op]) -> None:
    with MemorySystem(embedder=HashEmbedder(16), path=":memory:") as system:
        store = AgentMemoryStore(system)
        for namespace, owner in OTHERS.items():
            for key in KEYS:
                store.put(namespace, key, {"content": f"{owner}'s {key}", "user_id": owner, "n": 2})
        before = _snapshot(store)
        for op in ops:
            result = store.batch([op])[0]
            assert all(namespace[1] == "alice" for namespace in _namespaces(result)), (op, result)
        assert _snapshot(store) == before
        assert {m.user_id for m in system.list_memories(user_id="bob")} <= {"bob"}
        assert system.count(user_id="bob") == 2 * len(KEYS) and system.count(user_id="carol") == len(KEYS)
