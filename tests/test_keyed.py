"""Keyed memories: put_memory stores a text under the caller's key, and a second put of the key updates it;
put_memories, get_memories and delete_memories do the same for many keys (or ids) in one call."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from agent_memory import (
    ChromaStore,
    InvalidMetadataError,
    LimitExceededError,
    Limits,
    Memory,
    MemorySystem,
    Scope,
    StoreError,
    ValidationError,
    _batches,
)
from agent_memory._ids import id_time, key_id
from agent_memory._transfer import parse_record
from agent_memory.testing import HashEmbedder


@pytest.fixture
def system() -> Iterator[MemorySystem]:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as memory:
        yield memory


def test_a_second_put_of_a_key_updates_its_memory_with_history(system: MemorySystem) -> None:
    first = system.put_memory("drink", "Alice likes tea", user_id="alice", metadata={"source": "chat"})
    assert (first.key, first.text, first.metadata) == ("drink", "Alice likes tea", {"source": "chat"})
    second = system.put_memory("drink", "Alice likes coffee", user_id="alice", metadata={"source": "chat"})
    assert second.id == first.id and second.created_at == first.created_at
    assert second.updated_at is not None and first.updated_at is not None and second.updated_at >= first.updated_at
    third = system.put_memory("drink", "Alice likes coffee", user_id="alice")  # metadata replaced: none
    assert third.metadata == {}
    assert system.put_memory("drink", "Alice likes coffee", user_id="alice") == third  # nothing changed
    events = system.history(first.id, user_id="alice")
    assert [(e.action, e.old_text, e.new_text) for e in events] == [
        ("create", None, "Alice likes tea"),
        ("update", "Alice likes tea", "Alice likes coffee"),
        ("metadata", "Alice likes coffee", "Alice likes coffee"),
    ]
    assert [m.text for m in system.list_memories(user_id="alice")] == ["Alice likes coffee"]


def test_keys_not_texts_name_keyed_memories(system: MemorySystem) -> None:
    one = system.put_memory("a", "Alice likes tea", user_id="alice")
    two = system.put_memory("b", "Alice likes tea", user_id="alice")
    assert one.id != two.id and system.count(user_id="alice") == 2
    # A plain store of the same text finds a memory that holds it, as it would any other.
    assert system.store_memory("Alice likes tea", user_id="alice").id in {one.id, two.id}
    assert system.count(user_id="alice") == 2


def test_a_key_is_per_exact_scope(system: MemorySystem) -> None:
    mine = system.put_memory("k", "Alice likes tea", user_id="alice")
    agents = system.put_memory("k", "Alice likes tea", user_id="alice", agent_id="planner")
    sessions = system.put_memory("k", "Alice likes tea", user_id="alice", agent_id="planner", session_id="s1")
    bobs = system.put_memory("k", "Bob likes tea", user_id="bob")
    assert len({mine.id, agents.id, sessions.id, bobs.id}) == 4
    assert system.get_memory_by_key("k", user_id="alice") == mine
    assert system.get_memory_by_key("k", user_id="alice", agent_id="planner") == agents
    assert system.get_memory_by_key("k", user_id="alice", agent_id="planner", session_id="s1") == sessions
    assert system.get_memory_by_key("k", user_id="alice", agent_id="other") is None
    assert system.get_memory_by_key("k", user_id="carol") is None
    assert system.get_memory(bobs.id, user_id="alice") is None
    assert system.get_memory_by_key("k", user_id="bob") == bobs


def test_key_ids_are_derived_from_scope_and_key() -> None:
    same = key_id("alice", None, None, "k")
    assert same == key_id("alice", None, None, "k") and len(same) == 32 and same[12] == "8"
    assert id_time(same) is None  # no time inside: the record keeps its own
    others = {key_id("bob", None, None, "k"), key_id("alice", "k", None, ""), key_id("alice", None, "k", "k")}
    assert same not in others and len(others) == 3


@pytest.mark.parametrize(
    ("key", "text", "metadata"),
    [
        ("", "Alice likes tea", None),
        ("x" * 257, "Alice likes tea", None),
        ("bad\x00key", "Alice likes tea", None),
        (7, "Alice likes tea", None),
        ("k", "   ", None),
        ("k", "Alice likes tea", {"memory_key": "other"}),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(
    system: MemorySystem, key: object, text: str, metadata: dict[str, str] | None
) -> None:
    system.put_memory("k", "Alice likes coffee", user_id="alice")
    with pytest.raises(ValidationError):
        system.put_memory(key, text, user_id="alice", metadata=metadata)  # type: ignore[arg-type]
    assert [m.text for m in system.list_memories(user_id="alice")] == ["Alice likes coffee"]
    with pytest.raises(InvalidMetadataError, match="reserved"):
        system.store_memory("x", user_id="alice", metadata={"memory_key": "k"})


def test_searches_see_the_latest_text_of_a_key(system: MemorySystem) -> None:
    system.put_memory("pet", "Alice has a parrot called Kiwi", user_id="alice")
    system.put_memory("pet", "Alice has a tortoise called Sheldon", user_id="alice")
    found = system.search_memory("Sheldon", user_id="alice", top_k=3)
    assert [(h.memory.key, h.text) for h in found] == [("pet", "Alice has a tortoise called Sheldon")]
    assert all("Kiwi" not in h.text for h in system.search_memory("Kiwi parrot", user_id="alice", top_k=3))


def test_validity_of_a_key_is_what_the_last_put_said(system: MemorySystem) -> None:
    past = datetime.now(timezone.utc) - timedelta(days=1)
    ended = system.put_memory("job", "Alice works at Acme", user_id="alice", valid_until=past)
    assert system.list_memories(user_id="alice") == []  # expired: left out of default reads
    assert system.get_memory_by_key("job", user_id="alice") == ended  # but still there by its key
    reopened = system.put_memory("job", "Alice works at Acme", user_id="alice")
    assert reopened.valid_until is None and system.list_memories(user_id="alice") == [reopened]
    assert [e.action for e in system.history(ended.id, user_id="alice")] == ["create", "restore"]


def test_export_and_import_keep_the_key(system: MemorySystem) -> None:
    system.put_memory("drink", "Alice likes tea", user_id="alice", agent_id="planner")
    lines = [json.loads(json.dumps(r)) for r in system.export_memories(user_id="alice")]
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as other:
        other.import_memories([parse_record(line, default_user="carol") for line in lines])
        moved = other.get_memory_by_key("drink", user_id="carol", agent_id="planner")
        assert moved is not None and (moved.text, moved.key) == ("Alice likes tea", "drink")
        assert other.put_memory("drink", "Carol likes tea", user_id="carol", agent_id="planner").id == moved.id


def test_put_memories_writes_each_key_once_with_its_own_history(system: MemorySystem) -> None:
    first = system.put_memories(["drink", "pet"], ["Alice likes tea", "Alice has a cat"], user_id="alice")
    assert [(m.key, m.text) for m in first] == [("drink", "Alice likes tea"), ("pet", "Alice has a cat")]
    past = datetime.now(timezone.utc) - timedelta(days=1)
    second = system.put_memories(
        ["pet", "drink", "home"],
        ["Alice has a cat", "Alice likes coffee", "Alice lives in Porto"],
        user_id="alice",
        metadatas=[{"source": "chat"}, None, None],
    )
    assert [m.id for m in second[:2]] == [first[1].id, first[0].id] and second[2].key == "home"
    ended = system.put_memories(["home"], ["Alice lives in Porto"], user_id="alice", valid_until=past)[0]
    assert system.put_memories(["home"], ["Alice lives in Porto"], user_id="alice", valid_until=past) == [ended]
    actions = {m.key: [e.action for e in system.history(m.id, user_id="alice")] for m in second}
    assert actions == {"pet": ["create", "metadata"], "drink": ["create", "update"], "home": ["create", "expire"]}
    assert [h.memory.key for h in system.search_memory("coffee", user_id="alice", top_k=1)] == ["drink"]


def test_get_and_delete_memories_by_ids_or_keys(system: MemorySystem) -> None:
    puts = system.put_memories(["a", "b", "c"], ["Alice likes tea", "Alice has a cat", "Alice reads"], user_id="alice")
    agents = system.put_memory("a", "Alice plans trips", user_id="alice", agent_id="planner")
    bobs = system.put_memory("a", "Bob likes tea", user_id="bob")
    assert system.get_memories(user_id="alice", keys=["c", "missing", "a"]) == [puts[2], puts[0]]  # exact scope
    assert system.get_memories(user_id="alice", keys=["a"], agent_id="planner") == [agents]
    assert system.get_memories(user_id="alice", ids=[bobs.id, agents.id, puts[1].id]) == [agents, puts[1]]
    assert system.get_memories(user_id="alice", ids=[agents.id, puts[1].id], agent_id="planner") == [agents]
    assert system.delete_memories(user_id="alice", keys=["a", "missing"]) == 1  # not the planner's "a"
    assert system.delete_memories(user_id="alice", ids=[puts[1].id, bobs.id]) == 1  # never bob's
    assert [m.key for m in system.list_memories(user_id="alice")] == ["c", "a"]
    assert system.get_memory(bobs.id, user_id="bob") == bobs
    assert [e.action for e in system.history(puts[0].id, user_id="alice")] == ["create", "delete"]
    assert system.search_memory("tea", user_id="alice", agent_id=None, top_k=5)[0].memory.id != puts[0].id
    for both_or_neither in ({}, {"ids": [puts[2].id], "keys": ["c"]}):
        with pytest.raises(ValidationError, match="either ids= or keys="):
            system.get_memories(user_id="alice", **both_or_neither)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="either ids= or keys="):
            system.delete_memories(user_id="alice", **both_or_neither)  # type: ignore[arg-type]


def test_an_id_or_key_asked_for_twice_is_read_and_deleted_once(system: MemorySystem) -> None:
    puts = system.put_memories(["a", "b"], ["Alice likes tea", "Alice has a cat"], user_id="alice")
    twice = [puts[1].id, "missing", puts[0].id, puts[1].id, "missing"]
    assert system.get_memories(user_id="alice", ids=twice) == [puts[1], puts[0]]
    assert system.get_memories(user_id="alice", keys=["b", "b", "a"]) == [puts[1], puts[0]]
    assert system.delete_memories(user_id="alice", keys=["a", "a"]) == 1
    assert system.delete_memories(user_id="alice", ids=[puts[1].id, puts[1].id]) == 1
    assert system.count(user_id="alice") == 0


@pytest.mark.parametrize(
    ("keys", "texts", "vectors", "error"),
    [
        (["a", "a"], ["one", "two"], None, "repeated"),
        (["a"], ["one", "two"], None, "1 keys for 2 texts"),
        ("ab", ["one", "two"], None, "list of str"),
        (["a", "b"], ["one", "two"], [[1.0] * 32], "shape"),
        (["a", "b"], ["one", "two"], [[1.0] * 16, [1.0] * 16], "shape"),
        (["a", "b"], ["one", "two"], [[1.0] * 32, [float("nan")] * 32], "NaN"),
        (["a", "b"], ["one", "two"], [[1.0] * 32, [0.0] * 32], "zeros"),
        (["a", "b"], ["one", "two"], [[1.0] * 32, [1.0] * 31], "one length"),
    ],
)
def test_a_bad_batch_of_puts_writes_nothing(
    system: MemorySystem, keys: object, texts: list[str], vectors: object, error: str
) -> None:
    system.put_memory("a", "Alice likes tea", user_id="alice")
    with pytest.raises(ValidationError, match=error):
        system.put_memories(keys, texts, user_id="alice", vectors=vectors)  # type: ignore[arg-type]
    assert [(m.key, m.text) for m in system.list_memories(user_id="alice")] == [("a", "Alice likes tea")]


class _NoDocuments(HashEmbedder):
    """Embeds queries only: documents must come with their vectors."""

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        raise AssertionError(f"embedded {len(texts)} documents")


def test_given_vectors_are_stored_unit_norm_and_nothing_is_embedded() -> None:
    with MemorySystem(embedder=_NoDocuments(4), path=":memory:") as memory:
        put = memory.put_memories(["a", "b"], ["one", "two"], user_id="alice", vectors=[[3, 0, 0, 4], [0, 2, 0, 0]])
        stored = memory.store.vectors([m.id for m in put], Scope.of("alice"))
        np.testing.assert_allclose(stored, [[0.6, 0, 0, 0.8], [0, 1, 0, 0]], atol=1e-6)
        # Given vectors are written with every change, a metadata change too (LlamaIndex embeds metadata).
        memory.put_memories(["a", "b"], ["one", "two"], user_id="alice", metadata={"n": 1}, vectors=[[0, 0, 1, 0]] * 2)
        stored = memory.store.vectors([m.id for m in put], Scope.of("alice"))
        np.testing.assert_allclose(stored, [[0, 0, 1, 0], [0, 0, 1, 0]], atol=1e-6)


class _Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(32)
        self.texts: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.texts += texts
        return super().embed_documents(texts)


def test_putting_the_same_texts_again_costs_no_model_time() -> None:
    keys, texts = [f"k{i}" for i in range(40)], [f"fact number {i}" for i in range(40)]
    with MemorySystem(embedder=_Counting(), path=":memory:", cache_size=0) as memory:
        embedder = memory.embedder
        assert isinstance(embedder, _Counting)
        memory.put_memories(keys, texts, user_id="alice")
        again = memory.put_memories(keys, [*texts[:39], "a new fact"], user_id="alice", metadata={"n": 1})
        assert embedder.texts == [*texts, "a new fact"]  # only the changed text; metadata keeps the vector
        assert [e.action for e in memory.history(again[0].id, user_id="alice")] == ["create", "metadata"]


@pytest.fixture
def small_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_batches, "CHUNK", 10)


def _everything(memory: MemorySystem, user: str) -> list[tuple[Any, ...]]:
    """A user's memories, vectors and history, to compare before and after."""
    memories = sorted(memory.iter_memories(user_id=user), key=lambda m: m.id)
    vectors = memory.store.vectors([m.id for m in memories], Scope.of(user)).round(5).tolist()
    history = [[e.to_dict() for e in memory.history(m.id, user_id=user)] for m in memories]
    return list(zip([m.to_dict() for m in memories], vectors, history, strict=True))


@pytest.mark.usefixtures("small_rounds")
def test_a_put_the_store_fails_part_way_leaves_every_key_as_it_was(
    system: MemorySystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds of 10: the second round's write lands in part, then the store fails. The first round's
    new keys are removed, its replaced ones restored (text, metadata, validity, vector), and the
    history and the search index never saw any of it."""
    past = datetime.now(timezone.utc) - timedelta(days=1)
    system.put_memories([f"k{i}" for i in range(15)], [f"old fact {i}" for i in range(15)], user_id="alice")
    system.put_memory("k3", "old fact 3", user_id="alice", metadata={"n": 3}, valid_until=past)
    system.search_memory("fact", user_id="alice")  # the index is built: a stale entry would show
    before = _everything(system, "alice")
    real_upsert, rounds = ChromaStore._upsert, []

    def failing_upsert(store: ChromaStore, memories: list[Memory], vectors: Any) -> None:
        rounds.append(len(memories))
        if len(rounds) == 2:
            real_upsert(store, memories[:5], vectors[:5])
            raise StoreError("injected: the store failed part-way")
        real_upsert(store, memories, vectors)

    monkeypatch.setattr(ChromaStore, "_upsert", failing_upsert)
    with pytest.raises(StoreError, match="injected"):
        system.put_memories([f"k{i}" for i in range(25)], [f"zebra {i}" for i in range(25)], user_id="alice")
    monkeypatch.undo()
    assert rounds[:2] == [10, 10]
    assert _everything(system, "alice") == before
    assert not [h for h in system.search_memory("zebra", user_id="alice", top_k=30) if "zebra" in h.text]
    system.put_memories([f"k{i}" for i in range(25)], [f"zebra {i}" for i in range(25)], user_id="alice")
    assert system.count(user_id="alice") == 25


def test_batch_reads_deletes_and_puts_are_held_to_the_limits() -> None:
    limits = Limits(max_limit=3, max_texts=2)
    with MemorySystem(embedder=HashEmbedder(8), path=":memory:", limits=limits) as memory:
        with pytest.raises(LimitExceededError, match="max_texts"):
            memory.put_memories(["a", "b", "c"], ["one", "two", "three"], user_id="alice")
        for call in (memory.get_memories, memory.delete_memories):
            for named in ({"ids": ["1", "2", "3", "4"]}, {"keys": ["1", "2", "3", "4"]}):
                with pytest.raises(LimitExceededError, match="max_limit"):
                    call(user_id="alice", **named)  # type: ignore[operator]
        assert memory.count() == 0
