"""The vllm backend (in-process ``vllm.LLM``) against sentence-transformers, on the tiny Qwen3 model."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from conftest import VLLM_OPTIONS

from agent_memory import MemorySystem
from agent_memory.embeddings import SentenceTransformerEmbedder, VLLMEmbedder, create_embedder

TEXTS = ["Alice likes coffee", "用户 Alice 喜欢喝咖啡", "Bob is allergic to peanuts and carries an epipen"]


@pytest.fixture(scope="module")
def vllm_embedder(tiny_qwen3: str) -> Iterator[VLLMEmbedder]:
    embedder = VLLMEmbedder(tiny_qwen3, **VLLM_OPTIONS)  # type: ignore[arg-type]
    yield embedder
    embedder.close()


def test_documents_and_queries_equal_sentence_transformers(vllm_embedder: VLLMEmbedder, tiny_qwen3: str) -> None:
    local = SentenceTransformerEmbedder(tiny_qwen3)
    np.testing.assert_allclose(vllm_embedder.embed_documents(TEXTS), local.embed_documents(TEXTS), atol=1e-5)
    np.testing.assert_allclose(vllm_embedder.embed_queries(TEXTS), local.embed_queries(TEXTS), atol=1e-5)
    np.testing.assert_allclose(vllm_embedder.embed_queries(TEXTS, "qa"), local.embed_queries(TEXTS, "qa"), atol=1e-5)
    assert not np.allclose(vllm_embedder.embed_queries(TEXTS[:1]), vllm_embedder.embed_documents(TEXTS[:1]), atol=1e-3)
    assert vllm_embedder.fingerprint == local.fingerprint


@pytest.mark.parametrize("dimensions", [32, 48])
def test_matryoshka_dimensions_through_pooling_params(
    vllm_embedder: VLLMEmbedder, tiny_qwen3: str, dimensions: int
) -> None:
    shared = VLLMEmbedder(tiny_qwen3, dimensions=dimensions, **VLLM_OPTIONS)  # type: ignore[arg-type]
    local = SentenceTransformerEmbedder(tiny_qwen3, dimensions=dimensions)
    assert shared.llm is vllm_embedder.llm  # same model and options: one engine per process
    vectors = shared.embed_queries(TEXTS)
    assert vectors.shape == (3, dimensions)
    np.testing.assert_allclose(vectors, local.embed_queries(TEXTS), atol=1e-5)
    np.testing.assert_allclose(shared.embed_documents(TEXTS), local.embed_documents(TEXTS), atol=1e-5)
    assert shared.fingerprint == local.fingerprint


def test_written_by_vllm_searched_by_sentence_transformers(
    vllm_embedder: VLLMEmbedder, tiny_qwen3: str, tmp_path: object
) -> None:
    path = str(tmp_path)
    with MemorySystem(embedder=vllm_embedder, path=path) as memory:
        stored = memory.store_memories(TEXTS, user_id="alice")
        by_vllm = memory.search_memory("Alice likes coffee", user_id="alice", top_k=3)
    with MemorySystem(tiny_qwen3, path=path) as memory:  # the sentence-transformers backend
        by_st = memory.search_memory("Alice likes coffee", user_id="alice", top_k=3)
    assert [h.memory.id for h in by_st] == [h.memory.id for h in by_vllm]
    np.testing.assert_allclose([h.score for h in by_st], [h.score for h in by_vllm], atol=1e-5)
    assert {m.id for m in stored} == {h.memory.id for h in by_st}


def test_backend_by_name(tiny_qwen3: str) -> None:
    embedder = create_embedder(tiny_qwen3, backend="vllm", options=VLLM_OPTIONS)
    assert isinstance(embedder, VLLMEmbedder) and embedder.instruction_aware
