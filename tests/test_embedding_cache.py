"""The embedding cache: repeated queries and re-stored texts do not run the model again."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from agent_memory import MemorySystem, Scope
from agent_memory.embeddings import EmbeddingCache, Fingerprint
from agent_memory.testing import HashEmbedder


class CountingEmbedder(HashEmbedder):
    """A HashEmbedder that records every text it is asked to embed."""

    def __init__(self, dimension: int = 32) -> None:
        super().__init__(dimension)
        self.documents: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.documents += texts
        return super().embed_documents(texts)

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        self.queries += queries
        return super().embed_documents([f"{task}|{q}" for q in queries])


def test_a_repeated_query_runs_the_model_once_per_task() -> None:
    embedder = CountingEmbedder()
    with MemorySystem(embedder=embedder, path=":memory:") as system:
        system.store_memory("Alice likes coffee", user_id="alice")
        first = system.search_memory("drinks?", user_id="alice")
        second = system.search_memory("drinks?", user_id="alice")
        system.search_memory("drinks?", user_id="alice", task="Find the user's allergies")
    assert embedder.queries == ["drinks?", "drinks?"]  # the second search came from the cache; the new task did not
    assert [(h.memory.id, h.score) for h in first] == [(h.memory.id, h.score) for h in second]
    assert system.cache.hits == 1


def test_a_text_stored_before_is_not_embedded_again() -> None:
    embedder = CountingEmbedder()
    with MemorySystem(embedder=embedder, path=":memory:") as system:
        system.store_memories(["Likes tea", "Has a dog", "Likes tea"], user_id="alice")
        system.store_memory("Likes tea", user_id="bob")
        memory = system.store_memory("Has a dog", user_id="carol")
        system.delete_memory(memory.id, user_id="carol")
        system.store_memory("Has a dog", user_id="carol")
        assert system.get_memory(memory.id, user_id="alice") is None
        bob = system.list_memories(user_id="bob")
        vectors = system.store.vectors([m.id for m in bob], Scope.of("bob"))
    assert embedder.documents == ["Likes tea", "Has a dog"]
    np.testing.assert_allclose(vectors[0], embedder.embed_documents(["Likes tea"])[0], atol=1e-7)


def test_cache_size_zero_runs_the_model_every_time() -> None:
    embedder = CountingEmbedder()
    with MemorySystem(embedder=embedder, path=":memory:", cache_size=0) as system:
        system.search_memory("q", user_id="a")
        system.search_memory("q", user_id="a")
    assert embedder.queries == ["q", "q"]
    assert len(system.cache) == 0


def test_least_recently_used_vectors_leave_first() -> None:
    cache, embedder = EmbeddingCache(max_entries=2), CountingEmbedder()
    fingerprint = embedder.fingerprint
    for texts in (["a", "b"], ["a"], ["c"], ["a", "b"]):
        cache.embed(fingerprint, None, texts, embedder.embed_documents)
    assert embedder.documents == ["a", "b", "c", "b"]  # "b" was the least recently used when "c" came
    assert len(cache) == 2


def test_other_models_and_dimensions_never_share_vectors() -> None:
    cache = EmbeddingCache()
    small, large = CountingEmbedder(32), CountingEmbedder(64)
    other = Fingerprint(model="other", dimension=32, query_format="instruct")
    assert cache.embed(small.fingerprint, None, ["x"], small.embed_documents).shape == (1, 32)
    assert cache.embed(large.fingerprint, None, ["x"], large.embed_documents).shape == (1, 64)
    cache.embed(other, None, ["x"], small.embed_documents)
    assert small.documents == ["x", "x"] and large.documents == ["x"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcdefg"), max_size=6), max_size=8), st.integers(0, 4))
def test_cached_vectors_equal_the_models_whatever_the_sequence(calls: list[list[str]], size: int) -> None:
    cache, embedder = EmbeddingCache(max_entries=size), CountingEmbedder()
    for texts in calls:
        got = cache.embed(embedder.fingerprint, None, texts, embedder.embed_documents)
        np.testing.assert_array_equal(got, HashEmbedder(32).embed_documents(texts))
        assert len(cache) <= size


def test_storing_a_large_batch_again_costs_no_model_time_even_without_the_cache() -> None:
    """Large writes look duplicates up before embedding; small ones embed while looking up (the
    look-up then costs no time of its own), and only the new texts are written either way."""
    embedder = CountingEmbedder()
    texts = [f"fact number {i}" for i in range(40)]
    with MemorySystem(embedder=embedder, path=":memory:", cache_size=0) as system:
        first = system.store_memories(texts, user_id="alice")
        again = system.store_memories(texts, user_id="alice")
        assert embedder.documents == texts  # the repeated batch was found in the store, not embedded
        one = system.store_memories([texts[0], "a new fact"], user_id="alice")
        assert embedder.documents[len(texts) :] == [texts[0], "a new fact"]  # small: embedded while looking up
        assert [m.id for m in again] == [m.id for m in first] and one[0].id == first[0].id
        assert system.count(user_id="alice") == 41
        stored = system.store.vectors([one[1].id], Scope.of("alice"))
    np.testing.assert_allclose(stored[0], embedder.embed_documents(["a new fact"])[0], atol=1e-7)
