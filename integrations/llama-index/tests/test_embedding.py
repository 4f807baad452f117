"""Qwen3Embedding: the query instruction by default, equality with the core, real batches, async."""

from __future__ import annotations

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.embeddings.agent_memory import Qwen3Embedding

from agent_memory import UnknownTaskError
from agent_memory.embeddings import SentenceTransformerEmbedder
from agent_memory.embeddings import _transformers as engine_backend
from agent_memory.testing import event_loop_ticks


def test_queries_get_the_qwen3_instruction_by_default(tiny_qwen3: str) -> None:
    embedding = Qwen3Embedding(model_name=tiny_qwen3)
    assert isinstance(embedding, BaseEmbedding)
    core = SentenceTransformerEmbedder(tiny_qwen3)
    query = embedding.get_query_embedding("What does Alice drink?")
    np.testing.assert_allclose(query, core.embed_queries(["What does Alice drink?"])[0], atol=1e-6)
    # Without the instruction, the query would be embedded like a document: it is not.
    as_document = embedding.get_text_embedding("What does Alice drink?")
    assert not np.allclose(query, as_document, atol=1e-3)
    np.testing.assert_allclose(as_document, core.embed_documents(["What does Alice drink?"])[0], atol=1e-6)


def test_task_dimensions_and_model_name(tiny_qwen3: str) -> None:
    embedding = Qwen3Embedding(model_name=tiny_qwen3, task="qa", dimensions=32)
    core = SentenceTransformerEmbedder(tiny_qwen3, dimensions=32)
    assert embedding.model_name == tiny_qwen3
    vector = embedding.get_query_embedding("Where is Beijing?")
    assert len(vector) == 32
    np.testing.assert_allclose(vector, core.embed_queries(["Where is Beijing?"], "qa")[0], atol=1e-6)
    with pytest.raises(UnknownTaskError):
        Qwen3Embedding(model_name=tiny_qwen3, task="memroy")


def test_text_embeddings_go_in_batches_of_embed_batch_size(tiny_qwen3: str, monkeypatch: pytest.MonkeyPatch) -> None:
    embedding = Qwen3Embedding(model_name=tiny_qwen3, embed_batch_size=4)
    sizes: list[int] = []
    original = embedding.embedder.embed_documents

    def spy(texts: list[str]) -> np.ndarray:
        sizes.append(len(texts))
        return original(texts)

    monkeypatch.setattr(embedding.embedder, "embed_documents", spy)
    vectors = embedding.get_text_embedding_batch([f"fact {i}" for i in range(10)])
    assert sizes == [4, 4, 2] and len(vectors) == 10
    np.testing.assert_allclose(vectors[7], original(["fact 7"])[0], atol=1e-6)


def test_construction_does_not_load_weights(tiny_qwen3: str) -> None:
    engine_backend._ENGINES.clear()
    embedding = Qwen3Embedding(model_name=tiny_qwen3)
    assert not engine_backend._ENGINES
    embedding.get_query_embedding("x")
    assert len(engine_backend._ENGINES) == 1


async def test_async_methods_do_not_block_the_event_loop(tiny_qwen3: str) -> None:
    embedding = Qwen3Embedding(model_name=tiny_qwen3)
    vectors, ticks = await event_loop_ticks(embedding.aget_text_embedding_batch(["Alice likes coffee"] * 64))
    assert ticks > 1 and len(vectors) == 64
    query, ticks = await event_loop_ticks(embedding.aget_query_embedding("What does Alice drink?"))
    assert ticks > 1
    assert query == embedding.get_query_embedding("What does Alice drink?")
