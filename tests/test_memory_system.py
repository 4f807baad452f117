"""MemorySystem's public methods, with real Chroma and real embeddings."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from agent_memory import (
    ConfigurationError,
    EmbeddingError,
    Memory,
    MemoryNotFoundError,
    MemorySystem,
    SearchHit,
    ValidationError,
)
from agent_memory.embeddings import SentenceTransformerEmbedder
from agent_memory.testing import HashEmbedder

ALICE = ["Alice likes coffee", "Alice has a dog named Rex", "Alice works as a nurse", "Alice lives in Lisbon"]
BOB = ["Bob prefers green tea", "Bob is allergic to peanuts", "Bob plays the cello"]


@pytest.fixture
def filled(memory: MemorySystem) -> MemorySystem:
    memory.store_memories(ALICE, user_id="alice")
    memory.store_memories(BOB, user_id="bob")
    return memory


def test_store_memories_takes_one_metadata_for_every_text(hashed: MemorySystem) -> None:
    stored = hashed.store_memories(["Alice runs", "Alice swims"], user_id="alice", metadata={"topic": "sport"})
    assert [m.metadata for m in stored] == [{"topic": "sport"}, {"topic": "sport"}]
    assert hashed.list_memories(user_id="alice") == stored


def test_store_memory_returns_a_complete_memory(memory: MemorySystem) -> None:
    before = datetime.now(timezone.utc)
    m = memory.store_memory("Alice likes coffee", user_id="alice", metadata={"source": "chat", "turn": 3})
    assert isinstance(m, Memory)
    assert (m.text, m.user_id, m.agent_id, m.session_id) == ("Alice likes coffee", "alice", None, None)
    assert m.metadata == {"source": "chat", "turn": 3}
    assert m.created_at == m.updated_at and m.created_at is not None and m.created_at >= before
    assert memory.get_memory(m.id, user_id="alice") == m


def test_search_ranks_the_relevant_memory_first(filled: MemorySystem) -> None:
    hits = filled.search_memory("What does Alice drink?", user_id="alice")
    assert all(isinstance(h, SearchHit) for h in hits)
    assert hits[0].text == "Alice likes coffee"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= h.similarity <= 1.0 for h in hits)
    dense = filled.search_memory("What does Alice drink?", user_id="alice", mode="dense")
    assert dense[0].text == "Alice likes coffee"
    assert all(h.score == h.similarity for h in dense)
    assert [h.similarity for h in dense] == sorted((h.similarity for h in dense), reverse=True)


def test_scores_are_cosine_similarities(filled: MemorySystem) -> None:
    hit = filled.search_memory("What does Alice drink?", user_id="alice", top_k=1)[0]
    dense = filled.search_memory("What does Alice drink?", user_id="alice", top_k=1, mode="dense")[0]
    embedder = filled.embedder
    expected = float(embedder.embed_queries(["What does Alice drink?"])[0] @ embedder.embed_documents([hit.text])[0])
    assert hit.similarity == pytest.approx(expected, abs=1e-4)
    assert dense.memory == hit.memory and dense.score == pytest.approx(expected, abs=1e-4)


def test_search_never_returns_another_users_memories(filled: MemorySystem) -> None:
    hits = filled.search_memory("What does Alice drink?", user_id="bob", top_k=10)
    assert {h.memory.user_id for h in hits} == {"bob"}
    assert {h.text for h in hits} == set(BOB)
    assert filled.search_memory("coffee", user_id="carol") == []


def test_top_k_and_min_score(filled: MemorySystem) -> None:
    assert len(filled.search_memory("Alice", user_id="alice", top_k=2)) == 2
    assert len(filled.search_memory("Alice", user_id="alice", top_k=50)) == len(ALICE)
    every = filled.search_memory("What does Alice drink?", user_id="alice", top_k=10)
    middle = (every[0].score + every[1].score) / 2
    strong = filled.search_memory("What does Alice drink?", user_id="alice", top_k=10, min_score=middle)
    assert [h.text for h in strong] == ["Alice likes coffee"]
    assert [h.text for h in filled.search_memory("What does Alice drink?", user_id="alice", min_score=0.68)] == [
        "Alice likes coffee"
    ]
    assert filled.search_memory("What does Alice drink?", user_id="alice", min_score=0.99) == []


def test_filters_narrow_the_users_memories(memory: MemorySystem) -> None:
    memory.store_memory("Alice likes coffee", user_id="alice", metadata={"source": "chat"})
    memory.store_memory("Alice likes tea at night", user_id="alice", metadata={"source": "email"})
    memory.store_memory("Bob likes coffee", user_id="bob", metadata={"source": "chat"})
    hits = memory.search_memory("drinks", user_id="alice", filters={"source": "email"})
    assert [h.text for h in hits] == ["Alice likes tea at night"]
    listed = memory.list_memories(user_id="alice", filters={"source": {"$in": ["chat", "email"]}})
    assert {m.text for m in listed} == {"Alice likes coffee", "Alice likes tea at night"}


@pytest.mark.parametrize(
    "filters",
    [
        {"user_id": "bob"},
        {"$or": [{"user_id": "bob"}, {"source": "chat"}]},
        {"user_id": {"$ne": "alice"}},
        {"user_id": {"$in": ["alice", "bob"]}},
    ],
)
def test_filters_can_never_widen_the_scope(memory: MemorySystem, filters: dict[str, object]) -> None:
    memory.store_memory("Alice likes coffee", user_id="alice", metadata={"source": "chat"})
    memory.store_memory("Bob likes coffee", user_id="bob", metadata={"source": "chat"})
    hits = memory.search_memory("coffee", user_id="alice", filters=filters, top_k=10)
    listed = memory.list_memories(user_id="alice", filters=filters)
    assert all(h.memory.user_id == "alice" for h in hits)
    assert all(m.user_id == "alice" for m in listed)


def test_agent_and_session_scopes_narrow(hashed: MemorySystem) -> None:
    hashed.store_memory("general fact", user_id="alice")
    hashed.store_memory("planner fact", user_id="alice", agent_id="planner")
    hashed.store_memory("session fact", user_id="alice", agent_id="planner", session_id="s1")
    assert hashed.count(user_id="alice") == 3
    assert {m.text for m in hashed.list_memories(user_id="alice", agent_id="planner")} == {
        "planner fact",
        "session fact",
    }
    assert [m.text for m in hashed.list_memories(user_id="alice", session_id="s1")] == ["session fact"]
    hits = hashed.search_memory("fact", user_id="alice", agent_id="planner", session_id="s1", top_k=5)
    assert [h.text for h in hits] == ["session fact"]
    assert hashed.delete_all_memories(user_id="alice", agent_id="planner") == 2
    assert [m.text for m in hashed.list_memories(user_id="alice")] == ["general fact"]


def test_same_text_in_same_scope_is_stored_once(memory: MemorySystem) -> None:
    first = memory.store_memory("Alice likes coffee", user_id="alice")
    again = memory.store_memory("Alice likes coffee", user_id="alice", metadata={"ignored": True})
    assert again == first
    batch = memory.store_memories(["Alice likes coffee", "Alice likes tea", "Alice likes tea"], user_id="alice")
    assert batch[0] == first and batch[1] == batch[2]
    assert memory.count(user_id="alice") == 2


def test_same_text_in_another_scope_is_a_new_memory(memory: MemorySystem) -> None:
    a = memory.store_memory("likes coffee", user_id="alice")
    b = memory.store_memory("likes coffee", user_id="bob")
    c = memory.store_memory("likes coffee", user_id="alice", agent_id="planner")
    d = memory.store_memory("likes coffee", user_id="alice", agent_id="planner", session_id="s1")
    assert len({a.id, b.id, c.id, d.id}) == 4
    assert memory.store_memory("likes coffee", user_id="alice", agent_id="planner") == c


def test_store_memories_in_batches_with_progress(hashed: MemorySystem, capsys: pytest.CaptureFixture[str]) -> None:
    texts = [f"memory number {i}" for i in range(600)]
    stored = hashed.store_memories(texts, user_id="alice", metadatas=[{"i": i} for i in range(600)], progress=True)
    assert [m.text for m in stored] == texts and [m.metadata["i"] for m in stored] == list(range(600))
    assert len({m.id for m in stored}) == 600 and hashed.count(user_id="alice") == 600
    assert "storing memories" in capsys.readouterr().err
    assert hashed.store_memories([], user_id="alice") == []


def test_get_memory_is_scoped(filled: MemorySystem) -> None:
    alice_memory = filled.list_memories(user_id="alice")[0]
    assert filled.get_memory(alice_memory.id, user_id="alice") == alice_memory
    assert filled.get_memory(alice_memory.id, user_id="bob") is None
    assert filled.get_memory("no-such-id", user_id="alice") is None


def test_list_memories_pages_in_insertion_order(hashed: MemorySystem) -> None:
    texts = [f"fact {i}" for i in range(25)]
    for text in texts:
        hashed.store_memory(text, user_id="alice")
    assert [m.text for m in hashed.list_memories(user_id="alice")] == texts
    assert [m.text for m in hashed.list_memories(user_id="alice", limit=10, offset=20)] == texts[20:]
    assert [m.text for m in hashed.iter_memories(user_id="alice", page_size=7)] == texts
    assert hashed.list_memories(user_id="nobody") == []


def test_update_text_re_embeds(filled: MemorySystem) -> None:
    coffee = filled.search_memory("coffee", user_id="alice", top_k=1)[0].memory
    updated = filled.update_memory(coffee.id, user_id="alice", text="Alice has switched to matcha tea")
    assert updated.id == coffee.id and updated.text == "Alice has switched to matcha tea"
    assert updated.created_at == coffee.created_at and updated.updated_at > coffee.updated_at  # type: ignore[operator]
    assert filled.get_memory(coffee.id, user_id="alice") == updated
    top = filled.search_memory("What tea does Alice drink?", user_id="alice", top_k=1)[0]
    assert top.memory.id == coffee.id
    direct = (
        filled.embedder.embed_queries(["What tea does Alice drink?"])[0]
        @ filled.embedder.embed_documents([updated.text])[0]
    )
    assert top.similarity == pytest.approx(float(direct), abs=1e-4)


def test_update_metadata_replaces_it(memory: MemorySystem) -> None:
    m = memory.store_memory("Alice likes coffee", user_id="alice", metadata={"source": "chat", "turn": 1})
    updated = memory.update_memory(m.id, user_id="alice", metadata={"source": "review"})
    assert updated.metadata == {"source": "review"} and updated.text == m.text
    assert memory.get_memory(m.id, user_id="alice") == updated
    assert memory.update_memory(m.id, user_id="alice") == updated  # nothing to change


def test_update_of_another_users_memory_is_not_found(filled: MemorySystem) -> None:
    bob_memory = filled.list_memories(user_id="bob")[0]
    with pytest.raises(MemoryNotFoundError, match="alice"):
        filled.update_memory(bob_memory.id, user_id="alice", text="hijacked")
    with pytest.raises(KeyError):
        filled.update_memory("no-such-id", user_id="alice", text="x")
    assert filled.get_memory(bob_memory.id, user_id="bob") == bob_memory


def test_delete_memory(filled: MemorySystem) -> None:
    bob_memory = filled.list_memories(user_id="bob")[0]
    assert filled.delete_memory(bob_memory.id, user_id="alice") is False
    assert filled.get_memory(bob_memory.id, user_id="bob") == bob_memory
    assert filled.delete_memory(bob_memory.id, user_id="bob") is True
    assert filled.get_memory(bob_memory.id, user_id="bob") is None
    assert filled.delete_memory(bob_memory.id, user_id="bob") is False


def test_count(filled: MemorySystem) -> None:
    assert filled.count() == len(ALICE) + len(BOB)
    assert filled.count(user_id="alice") == len(ALICE)
    assert filled.count(user_id="nobody") == 0


def test_stats(filled: MemorySystem) -> None:
    stats = filled.stats()
    assert stats.total == 7 and stats.users == {"alice": 4, "bob": 3}
    assert stats.dimension == 384 and stats.model == filled.embedder.fingerprint.model


def test_context_manager_closes_the_store(minilm: str) -> None:
    with MemorySystem(minilm, path=":memory:") as system:
        system.store_memory("x y", user_id="u")
    with pytest.raises(Exception):  # noqa: B017 - any use of a closed client fails; which error is Chroma's
        system.count()


def test_in_memory_stores_are_private(minilm: str) -> None:
    with MemorySystem(minilm, path=":memory:") as one, MemorySystem(minilm, path=":memory:") as two:
        one.store_memory("Alice likes coffee", user_id="alice")
        assert two.count() == 0


def test_environment_sets_defaults_and_arguments_win(
    monkeypatch: pytest.MonkeyPatch, minilm: str, tiny_qwen3: str, tmp_path: object
) -> None:
    monkeypatch.setenv("AGENT_MEMORY_MODEL", minilm)
    monkeypatch.setenv("AGENT_MEMORY_PATH", str(tmp_path))
    monkeypatch.setenv("AGENT_MEMORY_DEVICE", "cpu")
    with MemorySystem() as system:
        assert isinstance(system.embedder, SentenceTransformerEmbedder)
        assert system.embedder.model == minilm and system.embedder.device == "cpu"
        assert system.path == str(tmp_path)
    with MemorySystem(tiny_qwen3, path=":memory:", device="meta-not-used") as system:
        assert system.embedder.model == tiny_qwen3 and system.path == ":memory:"  # type: ignore[attr-defined]
        assert system.embedder.device == "meta-not-used"  # type: ignore[attr-defined]
    monkeypatch.setenv("AGENT_MEMORY_DIMENSIONS", "128")  # e.g. after reindex --dimensions 128
    with MemorySystem(path=":memory:") as system, MemorySystem(path=":memory:", dimensions=256) as explicit:
        assert system.embedder.fingerprint.dimension == 128 and explicit.embedder.fingerprint.dimension == 256
    monkeypatch.setenv("AGENT_MEMORY_DIMENSIONS", "many")
    with pytest.raises(ConfigurationError, match="AGENT_MEMORY_DIMENSIONS"):
        MemorySystem(path=":memory:")


def test_default_path_is_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_data_dir

    from agent_memory._config import default_path

    monkeypatch.delenv("AGENT_MEMORY_PATH", raising=False)
    assert default_path() == user_data_dir("agent-memory", appauthor=False)


def test_qwen3_memory_system_queries_with_instruction(tiny_qwen3: str) -> None:
    with MemorySystem(tiny_qwen3, path=":memory:", dimensions=32, task="qa") as system:
        stored = system.store_memory("Alice likes coffee", user_id="alice")
        hit = system.search_memory("Alice likes coffee", user_id="alice")[0]
        assert hit.memory == stored
        embedder = system.embedder
        query = embedder.embed_queries(["Alice likes coffee"], "qa")[0]
        document = embedder.embed_documents(["Alice likes coffee"])[0]
        assert hit.similarity == pytest.approx(float(query @ document), abs=1e-4)
        assert hit.similarity < 0.999  # the query carried the instruction, the memory did not


def test_configuration_errors(tiny_qwen3: str) -> None:
    with pytest.raises(ConfigurationError, match="either"):
        MemorySystem(tiny_qwen3, embedder=HashEmbedder(), path=":memory:")
    with pytest.raises(ConfigurationError, match="backend"):
        MemorySystem(tiny_qwen3, backend="nope", path=":memory:")
    with pytest.raises(ConfigurationError, match="Embedder protocol"):
        MemorySystem(embedder=object(), path=":memory:")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"takes no option 'dtpye'; it takes: .*batch_tokens"):
        MemorySystem(tiny_qwen3, backend_options={"dtpye": "bfloat16"}, path=":memory:")
    with pytest.raises(ConfigurationError, match="device as an argument"):
        MemorySystem(tiny_qwen3, backend_options={"device": "cpu"}, path=":memory:")

    class Misnamed(HashEmbedder):
        @property
        def fingerprint(self) -> str:  # type: ignore[override]
            return "hash-64"

    with pytest.raises(ConfigurationError, match="fingerprint must be a Fingerprint, got str"):
        MemorySystem(embedder=Misnamed(), path=":memory:")
    with pytest.raises(ConfigurationError, match="vllm backend picks its device"):
        MemorySystem(tiny_qwen3, backend="vllm", device="cuda:1", path=":memory:")


def test_a_bug_inside_a_backend_constructor_is_not_called_a_configuration_error(
    tiny_qwen3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_memory.embeddings._transformers import TransformersEmbedder

    def broken(self: object, *args: object, **kwargs: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(TransformersEmbedder, "__init__", broken)
    with pytest.raises(TypeError, match="a bug"):
        MemorySystem(tiny_qwen3, backend="transformers", path=":memory:")


class _BrokenEmbedder(HashEmbedder):
    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        vectors = super().embed_documents(texts)
        vectors[0, 0] = np.nan
        return vectors


def test_bad_vectors_from_a_custom_embedder_write_nothing() -> None:
    with MemorySystem(embedder=_BrokenEmbedder(), path=":memory:") as system:
        with pytest.raises(EmbeddingError, match="NaN"):
            system.store_memories(["a b", "c d"], user_id="alice")
        assert system.count() == 0


def test_ids_are_time_ordered_uuid7(hashed: MemorySystem) -> None:
    import uuid

    stored = hashed.store_memories([f"fact {i}" for i in range(5)], user_id="alice")
    for m in stored:
        assert uuid.UUID(m.id).version == 7
        assert m.created_at is not None and m.created_at.tzinfo is not None
    assert sorted(m.id for m in stored)[0][:12] == stored[0].id[:12]  # the millisecond prefix
    later = hashed.store_memory("a later fact", user_id="alice")
    assert later.id > stored[0].id and later.created_at >= stored[0].created_at  # type: ignore[operator]


def test_delete_all_memories_past_ten_thousand(hashed: MemorySystem) -> None:
    many = 10_250
    hashed.store_memories([f"fact {i}" for i in range(many)], user_id="alice", progress=False)
    hashed.store_memory("bob's fact", user_id="bob")
    assert hashed.delete_all_memories(user_id="alice") == many
    assert hashed.count() == 1 and hashed.count(user_id="bob") == 1


def test_count_narrows_to_an_agent(hashed: MemorySystem) -> None:
    hashed.store_memory("general fact", user_id="alice")
    hashed.store_memory("plan: book flights", user_id="alice", agent_id="planner")
    assert hashed.count(user_id="alice") == 2 and hashed.count(user_id="alice", agent_id="planner") == 1
    with pytest.raises(ValidationError, match="needs the user_id"):
        hashed.count(agent_id="planner")
