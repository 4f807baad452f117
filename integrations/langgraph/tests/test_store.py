"""AgentMemoryStore's own promises: namespaces placed or refused, keys, exact values, limits checked
before writing, TTL, the memory system seeing the items, and an abatch that leaves the loop free."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from datetime import datetime

import numpy as np
import pytest
from langgraph.store.base import InvalidNamespaceError, PutOp, SearchOp
from langgraph_agent_memory import AgentMemoryStore, NamespaceError, NamespaceMap
from numpy.typing import NDArray

from agent_memory import ConfigurationError, MemorySystem, ValidationError
from agent_memory.testing import HashEmbedder, event_loop_ticks

ALICE, BOB = ("memories", "alice"), ("memories", "bob")


@pytest.fixture
def system() -> Iterator[MemorySystem]:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as memory:
        yield memory


@pytest.fixture
def store(system: MemorySystem) -> AgentMemoryStore:
    return AgentMemoryStore(system)


def test_the_default_namespaces_name_users_agents_and_sessions(store: AgentMemoryStore, system: MemorySystem) -> None:
    store.put(ALICE, "k", {"content": "Alice likes tea"})
    store.put((*ALICE, "planner"), "k", {"content": "Plan a trip to Rome"})
    store.put((*ALICE, "planner", "s1"), "k", {"content": "Asked about trains"})
    placed = {(m.agent_id, m.session_id, m.key, m.text) for m in system.list_memories(user_id="alice")}
    assert placed == {
        (None, None, "k", "Alice likes tea"),
        ("planner", None, "k", "Plan a trip to Rome"),
        ("planner", "s1", "k", "Asked about trains"),
    }
    assert {i.namespace for i in store.search(ALICE)} == {ALICE, (*ALICE, "planner"), (*ALICE, "planner", "s1")}
    assert {i.namespace for i in store.search((*ALICE, "planner", "s1"))} == {(*ALICE, "planner", "s1")}
    assert store.list_namespaces(prefix=ALICE, max_depth=3) == [ALICE, (*ALICE, "planner")]


@pytest.mark.parametrize(
    "namespace",
    [("other", "alice"), ("memories",), ("memories", "alice", "a", "s", "extra"), ("memories", "x" * 300)],
)
def test_a_namespace_the_map_cannot_place_is_refused(store: AgentMemoryStore, namespace: tuple[str, ...]) -> None:
    with pytest.raises(NamespaceError) as refused:
        store.put(namespace, "k", {"content": "x"})
    assert isinstance(refused.value, InvalidNamespaceError) and isinstance(refused.value, ValidationError)
    with pytest.raises(NamespaceError):
        store.get(namespace, "k")
    assert store.memory.count() == 0


def test_prefixes_that_cross_users_need_admin(system: MemorySystem) -> None:
    store, admin = AgentMemoryStore(system), AgentMemoryStore(system, admin=True)
    store.put(ALICE, "k", {"content": "Alice likes tea"})
    store.put(BOB, "k", {"content": "Bob likes tea"})
    for prefix in [(), ("memories",)]:
        with pytest.raises(NamespaceError, match="admin=True"):
            store.search(prefix, query="tea")
    with pytest.raises(NamespaceError):
        store.list_namespaces()
    with pytest.raises(NamespaceError):
        store.list_namespaces(prefix=("memories", "*"))
    assert store.search(("other",)) == []  # no namespace can start with it
    assert {i.namespace for i in admin.search(("memories",), query="tea")} == {ALICE, BOB}
    assert admin.list_namespaces() == [ALICE, BOB]


def test_a_custom_pattern_places_namespaces_its_way(system: MemorySystem) -> None:
    store = AgentMemoryStore(system, namespaces=("users", "{user_id}", "profile", "{agent_id}"))
    store.put(("users", "alice", "profile"), "name", {"content": "Alice"})
    store.put(("users", "alice", "profile", "planner"), "name", {"content": "Alice P."})
    assert {(m.agent_id, m.text) for m in system.list_memories(user_id="alice")} == {
        (None, "Alice"),
        ("planner", "Alice P."),
    }
    with pytest.raises(NamespaceError):
        store.put(("users", "alice"), "name", {"content": "x"})  # the literal "profile" is required
    for pattern in [("memories",), ("{agent_id}", "{user_id}"), ("{user_id}", "{session_id}", "{agent_id}")]:
        with pytest.raises(NamespaceError):
            NamespaceMap(pattern)


def test_keys_name_items_and_values_come_back_exactly(store: AgentMemoryStore, system: MemorySystem) -> None:
    value = {"content": "Alice likes tea", "nested": {"list": [1, 2.5, None, True], "s": "é"}, "n": 0}
    store.put(ALICE, "a", value)
    store.put(ALICE, "b", {"content": "Alice likes tea"})  # the same text under another key: its own item
    store.put(ALICE, "a", {**value, "n": 1})
    item = store.get(ALICE, "a")
    assert item is not None and item.value == {**value, "n": 1} and item.key == "a"
    assert sorted(keys(store.search(ALICE))) == ["a", "b"]
    memory = system.get_memory_by_key("a", user_id="alice")
    assert memory is not None and (item.created_at, item.updated_at) == (memory.created_at, memory.updated_at)
    assert [e.action for e in system.history(memory.id, user_id="alice")] == ["create", "metadata"]
    store.put(ALICE, "a", None)  # value None deletes
    assert store.get(ALICE, "a") is None and system.history(memory.id, user_id="alice")[-1].action == "delete"


def keys(items: Sequence[object]) -> list[str]:
    return [str(getattr(i, "key")) for i in items]  # noqa: B009


def test_the_memory_system_sees_the_items(store: AgentMemoryStore, system: MemorySystem) -> None:
    store.put(ALICE, "drink", {"content": "Alice drinks oolong tea"})
    store.put(ALICE, "profile", {"name": "Alice", "city": "Lisbon"})  # no content: the whole value is the text
    hits = system.search_memory("oolong", user_id="alice", top_k=2)
    assert hits[0].memory.key == "drink" and hits[0].text == "Alice drinks oolong tea"
    profile = system.get_memory_by_key("profile", user_id="alice")
    assert profile is not None and "Lisbon" in profile.text
    assert system.search_memory("oolong", user_id="bob") == []


def test_search_scores_are_the_librarys(system: MemorySystem) -> None:
    store = AgentMemoryStore(system)
    store.put(ALICE, "1", {"content": "Alice keeps a tortoise called Sheldon"})
    store.put(ALICE, "2", {"content": "Alice likes tea"})
    found = store.search(ALICE, query="Sheldon")
    hit = system.search_memory("Sheldon", user_id="alice", top_k=1)[0]
    assert found[0].key == "1" and found[0].score == pytest.approx(hit.score)
    assert all(r.score is not None and 0.0 <= r.score <= 1.0 for r in found)


@pytest.mark.parametrize(
    "value",
    [
        {"content": "x" * 70_000},  # more than the metadata budget
        {"content": "x", "when": datetime(2026, 1, 1)},  # not JSON
        {"content": "x", "n": float("nan")},
        {1: "x"},
        "not a dict",
    ],
)
def test_values_that_cannot_be_stored_are_refused_before_writing(store: AgentMemoryStore, value: object) -> None:
    store.put(ALICE, "kept", {"content": "Alice likes tea"})
    with pytest.raises(ValidationError):
        store.batch([PutOp(ALICE, "other", {"content": "fine"}), PutOp(ALICE, "bad", value)])  # type: ignore[arg-type]
    assert keys(store.search(ALICE)) == ["kept"]  # the whole batch was refused


@pytest.mark.parametrize(
    "op",
    [
        SearchOp(ALICE, None, 0, 0),
        SearchOp(ALICE, None, 10_001, 0),
        SearchOp(ALICE, None, 10, -1),
        SearchOp(ALICE, None, 600, 600, "tea"),  # a query ranks at most 1,000
        SearchOp(ALICE, {"n": {"$regex": "x"}}, 10, 0),
        SearchOp(ALICE, {"n": {"$gt": "3"}}, 10, 0),
        PutOp(ALICE, "", {"content": "x"}),
        PutOp(ALICE, "k" * 257, {"content": "x"}),
        PutOp(ALICE, "k", {"content": "a NUL \x00 in the text"}),
        PutOp(ALICE, "k", {"content": "x", "s": "a lone surrogate \ud800"}),
        PutOp(ALICE, "k", {"content": "x"}, ttl=-1),
    ],
)
def test_bad_operations_are_refused(store: AgentMemoryStore, op: object) -> None:
    with pytest.raises(ValidationError):
        store.batch([PutOp(ALICE, "first", {"content": "fine"}), op])  # type: ignore[list-item]
    assert store.memory.count() == 0


def test_index_false_and_fields(system: MemorySystem) -> None:
    store = AgentMemoryStore(system, index={"fields": ["title", "tags[*]"]})
    store.put(ALICE, "a", {"title": "Trip to Rome", "tags": ["travel", "italy"], "body": "ignored"})
    store.put(ALICE, "b", {"title": "Secret Rome notes"}, index=False)
    assert system.get_memory_by_key("a", user_id="alice").text == "Trip to Rome\ntravel\nitaly"  # type: ignore[union-attr]
    found = store.search(ALICE, query="Rome")
    assert [(r.key, r.score is None) for r in found] == [("a", False), ("b", True)]
    assert [r.key for r in store.search(ALICE, query="Rome", limit=1)] == ["a"]
    with pytest.raises(ConfigurationError):
        AgentMemoryStore(system, index={"dims": 3, "embed": "openai:x"})


def test_ttl_expires_items_and_reads_refresh_it(system: MemorySystem) -> None:
    store = AgentMemoryStore(system)
    assert store.supports_ttl
    store.put(ALICE, "short", {"content": "Alice is in a meeting"}, ttl=0.5 / 60)  # half a second
    store.put(ALICE, "kept", {"content": "Alice likes tea"})
    memory = system.get_memory_by_key("short", user_id="alice")
    assert memory is not None and memory.valid_until is not None
    time.sleep(0.3)
    assert store.get(ALICE, "short") is not None  # a read extends it by its ttl
    refreshed = system.get_memory_by_key("short", user_id="alice")
    assert refreshed is not None and refreshed.valid_until > memory.valid_until  # type: ignore[operator]
    store.get(ALICE, "short", refresh_ttl=False)
    assert system.get_memory_by_key("short", user_id="alice").valid_until == refreshed.valid_until  # type: ignore[union-attr]
    time.sleep(0.6)
    assert store.get(ALICE, "short") is None and keys(store.search(ALICE)) == ["kept"]
    assert keys(store.search(ALICE, query="meeting")) == ["kept"]
    assert system.get_memory_by_key("short", user_id="alice") is not None  # expired, kept in the history
    store.put(ALICE, "short", {"content": "Alice is back"})  # a put revives it, open-ended
    assert store.get(ALICE, "short").value == {"content": "Alice is back"}  # type: ignore[union-attr]


def test_a_default_ttl_applies_to_puts(system: MemorySystem) -> None:
    store = AgentMemoryStore(system, ttl_config={"default_ttl": 60, "refresh_on_read": False})
    store.put(ALICE, "k", {"content": "x"})
    memory = system.get_memory_by_key("k", user_id="alice")
    assert memory is not None and memory.valid_until is not None and memory.metadata["langgraph_ttl"] == 60


class SlowEmbedder(HashEmbedder):
    """Takes a fifth of a second a call: long enough that a blocked event loop would show."""

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        time.sleep(0.2)
        return super().embed_documents(texts)

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        time.sleep(0.2)
        return super().embed_queries(queries, task)


async def test_abatch_does_not_block_the_event_loop() -> None:
    with MemorySystem(embedder=SlowEmbedder(16), path=":memory:") as system:
        store = AgentMemoryStore(system)
        _, ticks = await event_loop_ticks(store.aput(ALICE, "k", {"content": "Alice likes tea"}))
        assert ticks > 1, "the event loop did not run while the item was embedded and written"
        found, ticks = await event_loop_ticks(store.asearch(ALICE, query="tea"))
        assert ticks > 1 and keys(found) == ["k"]
        both = await asyncio.gather(store.aget(ALICE, "k"), store.aget(BOB, "k"))
        assert both[0] is not None and both[1] is None


def test_a_filtered_search_over_more_items_than_a_filter_may_name(store: AgentMemoryStore) -> None:
    """More items pass the value filter than one ``$in`` may name (``max_filter_clauses``): the search
    still answers, ranking the best of all and keeping those that pass."""
    many = store.memory.limits.max_filter_clauses + 20
    store.batch(
        [PutOp(ALICE, f"k{i}", {"content": f"fact {i}", "kind": "even" if i % 2 else "odd"}) for i in range(2 * many)]
    )
    found = store.search(ALICE, query="fact 7", filter={"kind": "even"}, limit=5)
    assert len(found) == 5 and all(item.value["kind"] == "even" for item in found)
    assert found[0].key == "k7"
    with pytest.raises(ValidationError, match="max_top_k"):
        store.search(ALICE, query="fact", limit=10, offset=store.memory.limits.max_top_k)
