"""``Qwen3Embedding``: Qwen3-Embedding as a LlamaIndex ``BaseEmbedding``, queries with the instruction."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr

from agent_memory import TASKS
from agent_memory.embeddings import BaseEmbedder, create_embedder

__all__ = ["Qwen3Embedding"]


class Qwen3Embedding(BaseEmbedding):
    """Qwen3-Embedding for LlamaIndex, through agent-memory's embedder.

    Query embeddings carry the task instruction (``Instruct: {task}\\nQuery:{query}``,
    default the ``memory`` task) and text embeddings do not, by default, which is
    how Qwen3-Embedding retrieves best. (LlamaIndex's ``HuggingFaceEmbedding`` drops
    the Qwen3 query prompt unless ``query_instruction`` is passed.) Batches of
    ``embed_batch_size`` texts go to the model in one call; the async methods run in
    a worker thread. Weights load on the first embedding.

    Example:
        .. code-block:: python

            Settings.embed_model = Qwen3Embedding(model_name="Qwen/Qwen3-Embedding-0.6B")
    """

    task: str = Field(default=TASKS["memory"], description="Query instruction: a key of TASKS or a sentence.")
    dimensions: int | None = Field(default=None, description="Matryoshka size (32..model size), re-normalised.")
    backend: str | None = Field(default=None, description="How the model runs (default auto: see BACKENDS).")
    device: str | None = Field(default=None, description="cpu, cuda, mps...; default AGENT_MEMORY_DEVICE or auto.")
    base_url: str | None = Field(default=None, description="openai backend's server; default AGENT_MEMORY_BASE_URL.")
    api_key: str | None = Field(default=None, description="openai backend's key; default AGENT_MEMORY_API_KEY.")

    _embedder: BaseEmbedder = PrivateAttr()

    def __init__(
        self,
        model_name: str | None = None,
        task: str = TASKS["memory"],
        dimensions: int | None = None,
        backend: str | None = None,
        device: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        embedder = create_embedder(
            model_name, backend=backend, dimensions=dimensions, device=device, base_url=base_url, api_key=api_key
        )
        embedder.format_query("", task)  # an unknown task fails here, not at the first query
        super().__init__(
            model_name=embedder.model,
            task=task,
            dimensions=dimensions,
            backend=backend,
            device=device,
            base_url=base_url,
            api_key=api_key,
            **kwargs,
        )
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "AgentMemoryQwen3Embedding"

    @property
    def embedder(self) -> BaseEmbedder:
        """The agent-memory embedder underneath (shares its loaded model with MemorySystem)."""
        return self._embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_queries([query], self.task)[0].tolist()  # type: ignore[no-any-return]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts).tolist()  # type: ignore[no-any-return]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)
