"""Limits, checked at one gate before anything is written or sent to Chroma, and batches that are
all or nothing. Found by a hostile client: one memory with 5,600 metadata keys broke the store for
every user for good; a filter of 10,000 ``$or`` clauses crashed the process; a batch that failed at
record 1,100 of 1,200 left 1,000 memories stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest

from agent_memory import LimitExceededError, Limits, MemorySystem, StoreError, ValidationError
from agent_memory._errors import ConfigurationError
from agent_memory._validation import default_limits
from agent_memory.store._chroma_store import ChromaStore
from agent_memory.testing import HashEmbedder

LIMITS = Limits()


def _snapshot(memory: MemorySystem, user: str) -> list[tuple[Any, ...]]:
    """Everything a user has, expired memories and history included, to compare before and after."""
    memories = sorted(memory.iter_memories(user_id=user), key=lambda m: m.id)
    history = [[e.to_dict() for e in memory.history(m.id, user_id=user)] for m in memories]
    return [(m.to_dict(), h) for m, h in zip(memories, history, strict=True)]


@pytest.fixture
def seeded(tmp_path: Path) -> Any:
    with MemorySystem(embedder=HashEmbedder(), path=str(tmp_path / "db")) as memory:
        memory.store_memories(["Alice likes tea", "Alice lives in Porto"], user_id="alice")
        yield memory


OVER: dict[str, Callable[[MemorySystem], object]] = {
    "max_texts": lambda m: m.store_memories(["x"] * 11, user_id="bob"),
    "max_text_chars": lambda m: m.store_memory("x" * 101, user_id="bob"),
    "max_query_chars": lambda m: m.search_memory("q" * 51, user_id="bob"),
    "max_metadata_keys": lambda m: m.store_memory("x", user_id="bob", metadata={f"k{i}": i for i in range(5)}),
    "max_metadata_bytes": lambda m: m.store_memory("x", user_id="bob", metadata={"k": "v" * 200}),
    "max_filter_clauses": lambda m: m.search_memory("q", user_id="bob", filters={"$or": [{"k": i} for i in range(6)]}),
    "max_filter_depth": lambda m: m.list_memories(
        user_id="bob", filters={"$and": [{"$and": [{"$and": [{"a": 1}, {"b": 2}]}, {"c": 3}]}, {"d": 4}]}
    ),
    "max_top_k": lambda m: m.search_memory("q", user_id="bob", top_k=2**63),
    "max_limit": lambda m: m.list_memories(user_id="bob", limit=11),
    "max_offset": lambda m: m.list_memories(user_id="bob", offset=4_294_967_296),
    "max_time_years": lambda m: m.search_memory("q", user_id="bob", now="0500-01-01"),
    "max_messages": lambda m: m.remember([{"role": "user", "content": "hi"}] * 11, user_id="bob", extractor=_NoLLM()),
}


class _NoLLM:
    """An extractor that must never be called: the limits refuse the call first."""

    def extract(self, messages: object) -> list[str]:
        raise AssertionError("the extractor was called")

    def decide(self, fact: str, candidates: object) -> object:
        raise AssertionError("the extractor was called")


SMALL = Limits(
    max_texts=10,
    max_text_chars=100,
    max_query_chars=50,
    max_messages=10,
    max_metadata_keys=4,
    max_metadata_bytes=100,
    max_filter_clauses=5,
    max_filter_depth=2,
    max_limit=10,
)


@pytest.mark.parametrize("limit", sorted(OVER))
def test_each_limit_is_named_and_the_store_is_unchanged(limit: str, tmp_path: Path) -> None:
    with MemorySystem(embedder=HashEmbedder(), path=str(tmp_path / "db"), limits=SMALL) as memory:
        memory.store_memory("Bob likes tea", user_id="bob")
        before = _snapshot(memory, "bob")
        with pytest.raises(LimitExceededError) as raised:
            OVER[limit](memory)
        assert raised.value.limit == limit and limit in str(raised.value)
        assert isinstance(raised.value, ValidationError)
        assert _snapshot(memory, "bob") == before


def test_every_limit_has_a_case() -> None:
    assert set(OVER) == {f.name for f in __import__("dataclasses").fields(Limits)}


def test_the_metadata_that_broke_the_store_is_refused_and_the_store_still_works(seeded: MemorySystem) -> None:
    """5,600 keys made Chroma's compaction fail on every later write, by every user, and on reopening."""
    with pytest.raises(LimitExceededError, match="max_metadata_keys"):
        seeded.store_memory("x", user_id="bob", metadata={f"k{i}": i for i in range(5600)})
    seeded.store_memory("Bob likes coffee", user_id="bob")
    assert [h.memory.text for h in seeded.search_memory("coffee", user_id="bob")] == ["Bob likes coffee"]


def test_chromas_own_keys_are_reserved(seeded: MemorySystem) -> None:
    with pytest.raises(ValidationError, match="chroma:"):
        seeded.store_memory("x", user_id="bob", metadata={"chroma:document": "y"})
    memory_id = seeded.list_memories(user_id="alice")[0].id
    with pytest.raises(ValidationError, match="chroma:"):
        seeded.update_memory(memory_id, user_id="alice", metadata={"chroma:uri": "y"})


def test_a_batch_with_a_bad_entry_at_1100_of_1200_writes_nothing(seeded: MemorySystem) -> None:
    before = _snapshot(seeded, "alice")
    metadatas: list[dict[str, Any] | None] = [None] * 1200
    metadatas[1100] = {"chroma:document": "x"}
    with pytest.raises(ValidationError):
        seeded.store_memories([f"fact {i}" for i in range(1200)], user_id="alice", metadatas=metadatas)
    assert _snapshot(seeded, "alice") == before and seeded.count() == 2


def test_a_batch_the_store_fails_at_1100_of_1200_writes_nothing(
    seeded: MemorySystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fails on the second round of 1,000 (records 1,000 to 1,199): the first round's
    1,000 memories, already written, are removed; the history and the search index never saw them."""
    before = _snapshot(seeded, "alice")
    real_add, rounds = ChromaStore._add, []

    def failing_add(store: ChromaStore, memories: list[Any], vectors: Any) -> None:
        rounds.append(len(memories))
        if len(rounds) == 2:
            real_add(store, memories[:100], vectors[:100])  # part of the round lands, then the store fails
            raise StoreError("injected: the store failed at record 1,100")
        real_add(store, memories, vectors)

    monkeypatch.setattr(ChromaStore, "_add", failing_add)
    with pytest.raises(StoreError, match="injected"):
        seeded.store_memories([f"fact {i}" for i in range(1200)], user_id="alice")
    monkeypatch.undo()
    assert rounds == [1000, 200]
    assert _snapshot(seeded, "alice") == before and seeded.count() == 2
    assert not [h for h in seeded.search_memory("fact 7", user_id="alice", top_k=10) if "fact" in h.memory.text]
    again = seeded.store_memories([f"fact {i}" for i in range(1200)], user_id="alice")  # the texts are free again
    assert len({m.id for m in again}) == 1200 and seeded.count() == 1202


def test_limits_are_set_by_environment_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_MEMORY_LIMITS", "max_texts=3, max_top_k=7")
    assert default_limits() == Limits(max_texts=3, max_top_k=7)
    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        assert memory.limits.max_texts == 3
        with pytest.raises(LimitExceededError, match="max_texts=3"):
            memory.store_memories(["a", "b", "c", "d"], user_id="bob")
    monkeypatch.setenv("AGENT_MEMORY_LIMITS", "max_textz=3")
    with pytest.raises(ConfigurationError, match="max_texts"):
        default_limits()
    with pytest.raises(ValidationError, match="positive"):
        Limits(max_top_k=0)


# -- headroom: what the defaults leave below the points where Chroma breaks ------------------------


def _raw_collection(tmp_path: Path) -> Any:
    client = chromadb.PersistentClient(str(tmp_path / "raw"))
    collection = client.create_collection("raw", embedding_function=None)
    rows = np.random.default_rng(0).random((20, 8)).tolist()
    collection.add(ids=[f"r{i}" for i in range(20)], embeddings=rows, metadatas=[{"k": i} for i in range(20)])
    return collection


def test_chroma_takes_ten_times_the_metadata_limit(tmp_path: Path) -> None:
    """The default allows 64 keys; Chroma takes 640 on one record and still writes (it failed for
    good at about 5,500, measured with chromadb 1.5: SQLite's 32,766 variables, 6 per key)."""
    collection = _raw_collection(tmp_path)
    keys = {f"key-{i:03d}": "v" * 16 for i in range(10 * LIMITS.max_metadata_keys)}
    collection.add(ids=["big"], embeddings=[[0.5] * 8], metadatas=[keys])
    collection.add(ids=["after"], embeddings=[[0.25] * 8], metadatas=[{"k": 1}])
    assert collection.count() == 22


def test_chroma_takes_five_times_the_filter_limits(tmp_path: Path) -> None:
    """100 conditions and 8 levels by default; Chroma answers 500 ``$or`` conditions and 40 levels of
    ``$and`` (measured with chromadb 1.5: 1,000 conditions are refused by SQLite, 10,000 crash the
    process, 100 levels are refused)."""
    collection = _raw_collection(tmp_path)
    wide = {"$or": [{"k": i} for i in range(5 * LIMITS.max_filter_clauses)]}
    deep: dict[str, Any] = {"k": 1}
    for _ in range(5 * LIMITS.max_filter_depth):
        deep = {"$and": [deep, {"k": {"$gte": 0}}]}
    for where in (wide, deep):
        assert collection.query(query_embeddings=[[0.5] * 8], n_results=3, where=where)["ids"][0]
