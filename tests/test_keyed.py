"""Keyed memories: put_memory stores a text under the caller's key, and a second put of the key updates it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from agent_memory import InvalidMetadataError, MemorySystem, ValidationError
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
