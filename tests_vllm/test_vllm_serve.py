"""A real ``vllm serve`` on 127.0.0.1, used through the openai backend, then stopped by its PID."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from vllm_server import vllm_serve

from agent_memory import MemorySystem
from agent_memory.embeddings import OpenAIEmbedder, SentenceTransformerEmbedder


@pytest.fixture(scope="module")
def served(tiny_qwen3: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    options = [
        "--runner", "pooling", "--max-model-len", "2048", "--hf-overrides", '{"is_matryoshka": true}',
        "--served-model-name", "embedder", tiny_qwen3,  # a name without "qwen3", and its path
    ]  # fmt: skip
    with vllm_serve(tiny_qwen3, options, log=tmp_path_factory.mktemp("vllm") / "serve.log", timeout=240) as url:
        yield url


def test_server_vectors_equal_sentence_transformers(served: str, tiny_qwen3: str) -> None:
    texts = ["Alice likes coffee", "用户 Alice 喜欢喝咖啡"]
    for dimensions in (None, 32):
        client = OpenAIEmbedder(tiny_qwen3, base_url=served, dimensions=dimensions)
        local = SentenceTransformerEmbedder(tiny_qwen3, dimensions=dimensions)
        np.testing.assert_allclose(client.embed_documents(texts), local.embed_documents(texts), atol=1e-5)
        np.testing.assert_allclose(client.embed_queries(texts), local.embed_queries(texts), atol=1e-5)
        assert client.fingerprint == local.fingerprint
        client.close()


def test_store_and_search_end_to_end(served: str, tiny_qwen3: str, tmp_path: Path) -> None:
    with MemorySystem(tiny_qwen3, backend="openai", base_url=served, path=str(tmp_path)) as memory:
        alice = memory.store_memories(["Alice likes coffee", "Alice has a dog named Rex"], user_id="alice")
        memory.store_memory("Bob likes tea", user_id="bob")
        hits = memory.search_memory("Alice likes coffee", user_id="alice", top_k=5)
        assert {h.memory.id for h in hits} == {m.id for m in alice}
        assert hits[0].memory.id == alice[0].id
    with MemorySystem(tiny_qwen3, path=str(tmp_path)) as memory:  # the same collection, searched locally
        local_hits = memory.search_memory("Alice likes coffee", user_id="alice", top_k=5)
        np.testing.assert_allclose([h.score for h in local_hits], [h.score for h in hits], atol=1e-5)


def test_a_name_without_qwen3_still_gets_the_instruction(served: str, tiny_qwen3: str) -> None:
    """vLLM's /v1/models gives the served model's root (its path here): its query prompt decides."""
    client = OpenAIEmbedder("embedder", base_url=served)
    local = SentenceTransformerEmbedder(tiny_qwen3)
    queries = ["What does Alice drink?", "用户 Alice 喜欢喝什么？"]
    assert client.instruction_aware
    np.testing.assert_allclose(client.embed_queries(queries), local.embed_queries(queries), atol=1e-5)
    client.close()
