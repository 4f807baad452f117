"""LangChain's standard integration suites, unmodified: embeddings on the tiny Qwen3 model, the vector store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_agent_memory import AgentMemoryVectorStore, Qwen3Embeddings
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, VectorStoreIntegrationTests


class TestQwen3EmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Qwen3Embeddings]:
        return Qwen3Embeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": os.environ["AGENT_MEMORY_TEST_TINY_QWEN3"]}


class TestAgentMemoryVectorStore(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self) -> Iterator[AgentMemoryVectorStore]:
        store = AgentMemoryVectorStore(embedding=self.get_embeddings(), user_id="standard-tests")
        yield store
        store.close()


class TestAgentMemoryVectorStorePersistent(VectorStoreIntegrationTests):
    """The same suite on an embedded persistent Chroma, shared with another user's records."""

    @pytest.fixture
    def vectorstore(self, tmp_path: Any) -> Iterator[AgentMemoryVectorStore]:
        neighbour = AgentMemoryVectorStore(embedding=self.get_embeddings(), user_id="neighbour", path=str(tmp_path))
        neighbour.add_texts(["foo", "bar", "baz"], metadatas=[{"id": 9}] * 3, ids=["n1", "n2", "n3"])
        neighbour.close()
        store = AgentMemoryVectorStore(embedding=self.get_embeddings(), user_id="standard-tests", path=str(tmp_path))
        yield store
        store.close()
