"""Moving a store to another model or dimension without losing memories."""

from __future__ import annotations

import io

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from agent_memory import EmbedderMismatchError, MemorySystem
from agent_memory.cli._main import main
from agent_memory.testing import HashEmbedder


def _fill(path: str) -> list[str]:
    with MemorySystem(embedder=HashEmbedder(64), path=path) as memory:
        alice = memory.store_memories([f"alice fact {i}" for i in range(1500)], user_id="alice", progress=False)
        memory.store_memory("bob fact", user_id="bob", agent_id="planner", metadata={"source": "chat", "n": 3})
    return [m.id for m in alice]


def test_reindex_to_another_dimension_keeps_every_memory(db_path: str) -> None:
    ids = _fill(db_path)
    with MemorySystem(embedder=HashEmbedder(32, model="hash-v2"), path=db_path) as memory:
        with pytest.raises(EmbedderMismatchError):
            memory.search_memory("alice fact 1", user_id="alice")
        before = {m.id: m for m in memory.iter_memories(user_id="alice")} | {
            m.id: m for m in memory.iter_memories(user_id="bob")
        }
        assert memory.reindex() == 1501
        after = {m.id: m for m in memory.iter_memories(user_id="alice")} | {
            m.id: m for m in memory.iter_memories(user_id="bob")
        }
        assert after == before and set(ids) <= set(after)  # ids, texts, scopes, metadata, timestamps
        assert memory.stats().model == "hash-v2" and memory.stats().dimension == 32
        assert len(memory.search_memory("alice fact 1", user_id="alice", top_k=3)) == 3
        memory.store_memory("alice fact 1", user_id="alice")  # duplicates are still found after the switch
        assert memory.count() == 1501
    client = chromadb.PersistentClient(path=db_path, settings=Settings(anonymized_telemetry=False))
    assert [c.name for c in client.list_collections()] == ["memories"]  # the old one is gone
    client.close()


class _FailingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        super().__init__(32, model="hash-v2")
        self.calls = 0

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("GPU fell over")
        return super().embed_documents(texts)


def test_an_interrupted_reindex_leaves_the_old_collection_in_use(db_path: str) -> None:
    _fill(db_path)
    with MemorySystem(embedder=_FailingEmbedder(), path=db_path) as memory, pytest.raises(RuntimeError):
        memory.reindex()
    with MemorySystem(embedder=HashEmbedder(64), path=db_path) as memory:
        assert memory.count() == 1501
        assert memory.search_memory("alice fact 1", user_id="alice", top_k=1)
    client = chromadb.PersistentClient(path=db_path, settings=Settings(anonymized_telemetry=False))
    assert [c.name for c in client.list_collections()] == ["memories"]  # the half-built copy was dropped
    client.close()


def test_reindex_command_moves_to_another_model(db_path: str, tiny_qwen3: str, minilm: str) -> None:
    with MemorySystem(tiny_qwen3, path=db_path) as memory:
        memory.store_memories(["Alice likes coffee", "Alice has a dog"], user_id="alice")
    out = io.StringIO()
    assert main(["reindex", "--path", db_path, "--model", minilm, "--keep-old"], out=out) == 0
    assert f"re-embedded 2 memories: {tiny_qwen3} (64 dims) -> {minilm} (384 dims)" in out.getvalue()
    with MemorySystem(minilm, path=db_path) as memory:
        assert memory.search_memory("What does Alice drink?", user_id="alice")[0].text == "Alice likes coffee"
    client = chromadb.PersistentClient(path=db_path, settings=Settings(anonymized_telemetry=False))
    assert len(client.list_collections()) == 2  # --keep-old
    client.close()


def test_after_reindex_at_a_size_later_commands_open_at_that_size(db_path: str, tiny_qwen3: str) -> None:
    with MemorySystem(tiny_qwen3, path=db_path) as memory:
        memory.store_memories(["Alice likes coffee", "Alice has a dog"], user_id="alice")
    out = io.StringIO()
    assert main(["reindex", "--path", db_path, "--model", tiny_qwen3, "--dimensions", "32"], out=out) == 0
    assert "later commands open this collection at 32 dimensions" in out.getvalue()
    out = io.StringIO()  # no --dimensions: the recorded size, not the model's 64
    assert (
        main(["search", "what does alice drink", "--user", "alice", "--path", db_path, "--model", tiny_qwen3], out=out)
        == 0
    )
    assert "Alice" in out.getvalue()
    with (
        MemorySystem(tiny_qwen3, path=db_path) as opened,
        MemorySystem(tiny_qwen3, path=":memory:", dimensions=32) as cut,
    ):
        assert opened.embedder.fingerprint == cut.embedder.fingerprint
        np.testing.assert_allclose(
            opened.embedder.embed_queries(["coffee"]), cut.embedder.embed_queries(["coffee"]), atol=1e-6
        )
    with MemorySystem(tiny_qwen3, path=db_path, dimensions=64) as asked, pytest.raises(EmbedderMismatchError):
        asked.search_memory("coffee", user_id="alice")  # a size named explicitly is never overridden


def test_another_model_is_not_opened_at_the_recorded_size(db_path: str, tiny_qwen3: str, minilm: str) -> None:
    with MemorySystem(tiny_qwen3, path=db_path, dimensions=32) as memory:
        memory.store_memory("Alice likes coffee", user_id="alice")
    with MemorySystem(minilm, path=db_path) as other, pytest.raises(EmbedderMismatchError):
        other.search_memory("coffee", user_id="alice")  # a different model says so; it is not silently cut
