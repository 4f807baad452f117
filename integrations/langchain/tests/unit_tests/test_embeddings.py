"""Qwen3Embeddings: the query/document asymmetry, equality with the core, lazy loading."""

from __future__ import annotations

import numpy as np
import pytest
from langchain_agent_memory import Qwen3Embeddings

from agent_memory import UnknownTaskError
from agent_memory.embeddings import SentenceTransformerEmbedder
from agent_memory.embeddings import _transformers as engine_backend
from agent_memory.testing import event_loop_ticks


def test_query_carries_the_instruction_and_documents_do_not(tiny_qwen3: str) -> None:
    embeddings = Qwen3Embeddings(model=tiny_qwen3)
    query, document = (
        embeddings.embed_query("Alice likes coffee"),
        embeddings.embed_documents(["Alice likes coffee"])[0],
    )
    assert not np.allclose(query, document, atol=1e-3)
    core = SentenceTransformerEmbedder(tiny_qwen3)
    np.testing.assert_allclose(query, core.embed_queries(["Alice likes coffee"])[0], atol=1e-6)
    np.testing.assert_allclose(document, core.embed_documents(["Alice likes coffee"])[0], atol=1e-6)


def test_task_and_dimensions(tiny_qwen3: str) -> None:
    embeddings = Qwen3Embeddings(model=tiny_qwen3, task="qa", dimensions=32)
    core = SentenceTransformerEmbedder(tiny_qwen3, dimensions=32)
    vector = embeddings.embed_query("Where is Beijing?")
    assert len(vector) == 32
    np.testing.assert_allclose(vector, core.embed_queries(["Where is Beijing?"], "qa")[0], atol=1e-6)
    with pytest.raises(UnknownTaskError):
        Qwen3Embeddings(model=tiny_qwen3, task="memroy")


def test_construction_does_not_load_weights(tiny_qwen3: str) -> None:
    engine_backend._ENGINES.clear()
    embeddings = Qwen3Embeddings(model=tiny_qwen3)
    assert not engine_backend._ENGINES
    embeddings.embed_query("x")
    assert len(engine_backend._ENGINES) == 1


async def test_async_methods_do_not_block_the_event_loop(tiny_qwen3: str) -> None:
    embeddings = Qwen3Embeddings(model=tiny_qwen3)
    vectors, ticks = await event_loop_ticks(embeddings.aembed_documents(["Alice likes coffee"] * 64))
    assert ticks > 1, "the event loop did not run while embedding"
    query, ticks = await event_loop_ticks(embeddings.aembed_query("What does Alice drink?"))
    assert ticks > 1
    assert len(vectors) == 64 and query == embeddings.embed_query("What does Alice drink?")


def test_works_with_any_langchain_vector_store(minilm: str) -> None:
    from langchain_core.vectorstores import InMemoryVectorStore

    store = InMemoryVectorStore.from_texts(
        ["Alice likes coffee", "Alice has a dog named Rex", "Alice lives in Lisbon"], Qwen3Embeddings(model=minilm)
    )
    assert store.similarity_search("What does Alice drink?", k=1)[0].page_content == "Alice likes coffee"
