"""The Chroma store: settings, distance metrics, and the model-free parts of the contract."""

from __future__ import annotations

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from agent_memory import ChromaStore, MemorySystem, Scope, ValidationError
from agent_memory.embeddings import _sentence_transformers as st_backend
from agent_memory.store._records import scope_clauses
from agent_memory.testing import HashEmbedder


def test_telemetry_is_off_and_chroma_never_embeds(hashed: MemorySystem) -> None:
    store = hashed.store
    assert isinstance(store, ChromaStore)
    assert store._client.get_settings().anonymized_telemetry is False
    assert store._collection._embedding_function is None
    assert store._collection.configuration["hnsw"]["space"] == "cosine"


@pytest.mark.parametrize("space", ["l2", "ip", "cosine"])
def test_scores_are_cosine_whatever_the_collections_metric(db_path: str, space: str) -> None:
    client = chromadb.PersistentClient(path=db_path, settings=Settings(anonymized_telemetry=False))
    client.create_collection("memories", embedding_function=None, configuration={"hnsw": {"space": space}})
    client.close()
    embedder = HashEmbedder(32)
    with MemorySystem(embedder=embedder, path=db_path) as memory:
        texts = ["Alice likes coffee", "Alice has a dog", "Alice lives in Lisbon"]
        memory.store_memories(texts, user_id="alice")
        hits = memory.search_memory("coffee", user_id="alice", top_k=3, mode="dense")
    expected = embedder.embed_documents([h.text for h in hits]) @ embedder.embed_queries(["coffee"])[0]
    np.testing.assert_allclose([h.similarity for h in hits], expected, atol=1e-5)
    np.testing.assert_allclose([h.score for h in hits], np.clip(expected, 0, 1), atol=1e-5)  # dense score


def test_invalid_collection_name_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="collection"):
        MemorySystem(embedder=HashEmbedder(), path=":memory:", collection="x")


def test_scope_clauses() -> None:
    assert scope_clauses(Scope("alice")) == [{"user_id": "alice"}]
    assert scope_clauses(Scope("alice", None, "s1")) == [{"user_id": "alice"}, {"session_id": "s1"}]


def test_gpu_settings_are_half_precision_with_fast_attention(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    import torch

    assert st_backend._model_kwargs("cpu") == {}
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    kwargs = st_backend._model_kwargs("cuda:0")
    assert kwargs["dtype"] is torch.bfloat16
    expected = "flash_attention_2" if importlib.util.find_spec("flash_attn") else "sdpa"
    assert kwargs["attn_implementation"] == expected
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert st_backend._model_kwargs("cuda")["dtype"] is torch.float16


def test_empty_id_lists_are_nothing_not_errors(hashed: MemorySystem) -> None:
    store = hashed.store
    scope = Scope("alice")
    assert store.get([], scope) == [] and store._delete([], scope) == 0
    assert store.vectors([], scope).shape[0] == 0


def test_upsert_refuses_an_id_of_another_user(hashed: MemorySystem) -> None:
    from agent_memory import Memory

    store = hashed.store
    vector = HashEmbedder().embed_documents(["x"])
    store._upsert([Memory.create("alice's", Scope("alice"), id="shared")], vector)
    with pytest.raises(ValidationError, match="outside this user's scope"):
        store._upsert([Memory.create("bob's", Scope("bob"), id="shared")], vector)
    assert store.get(["shared"], Scope("alice"))[0].text == "alice's"
    store._upsert([Memory.create("alice's again", Scope("alice"), id="shared")], vector)
    assert store.get(["shared"], Scope("alice"))[0].text == "alice's again"


def test_upsert_and_update_replace_metadata_rather_than_merge(hashed: MemorySystem) -> None:
    """Chroma merges metadata on upsert and update: a key the new version lacks must still go."""
    from agent_memory import Memory

    original = Memory.create("a fact", Scope.of("alice"), {"source": "chat", "turn": 3})
    vector = hashed.embedder.embed_documents(["a fact"])
    hashed.store._upsert([original], vector)
    hashed.store._upsert([Memory.create("a fact", Scope.of("alice"), {"source": "import"}, id=original.id)], vector)
    assert hashed.get_memory(original.id, user_id="alice").metadata == {"source": "import"}  # type: ignore[union-attr]
    hashed.update_memory(original.id, user_id="alice", metadata={"checked": True})
    assert hashed.get_memory(original.id, user_id="alice").metadata == {"checked": True}  # type: ignore[union-attr]


def test_a_text_many_users_hold_is_still_found_once_per_scope() -> None:
    """Duplicates are looked up by text hash alone; when more users hold the text than that
    look-up returns, the user is added to the filter, so alice's copy is never missed."""
    with MemorySystem(embedder=HashEmbedder(16), path=":memory:") as system:
        for i in range(40):
            system.store_memory("Prefers short answers", user_id=f"user-{i:02d}")
        first = system.store_memory("Prefers short answers", user_id="alice")
        again = system.store_memories(["Prefers short answers", "Likes tea"], user_id="alice")
        assert again[0].id == first.id
        assert system.count(user_id="alice") == 2 and system.count() == 42
        found = system.store._find_texts(["Prefers short answers"], Scope.of("user-07"))
        assert [m.user_id for m in found.values()] == ["user-07"]


def test_only_chromas_own_filter_errors_are_called_bad_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ValueError of our own code under a filtered call is a bug to see, not the caller's filter."""
    from agent_memory import InvalidFilterError
    from agent_memory.store import _chroma_store

    with MemorySystem(embedder=HashEmbedder(), path=":memory:") as memory:
        memory.store_memory("Alice likes tea", user_id="alice", metadata={"n": 1})
        with pytest.raises(InvalidFilterError, match=r"\$gt"):
            memory.list_memories(user_id="alice", filters={"n": {"$gt": "x"}})

        def broken(result: object) -> list[object]:
            raise ValueError("a bug in agent-memory")

        monkeypatch.setattr(_chroma_store, "memories_from", broken)
        with pytest.raises(ValueError, match="a bug in agent-memory") as raised:
            memory.list_memories(user_id="alice", filters={"n": 1})
        assert not isinstance(raised.value, InvalidFilterError)
