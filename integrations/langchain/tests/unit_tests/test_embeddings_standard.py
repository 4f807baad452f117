"""LangChain's standard unit tests for Qwen3Embeddings, unmodified."""

from __future__ import annotations

import os
from typing import Any

from langchain_agent_memory import Qwen3Embeddings
from langchain_tests.unit_tests import EmbeddingsUnitTests


class TestQwen3EmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Qwen3Embeddings]:
        return Qwen3Embeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": os.environ["AGENT_MEMORY_TEST_TINY_QWEN3"]}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"AGENT_MEMORY_MODEL": "Qwen/Qwen3-Embedding-4B", "AGENT_MEMORY_DEVICE": "cpu"},
            {"dimensions": 256},
            {"model": "Qwen/Qwen3-Embedding-4B", "dimensions": 256},
        )
