"""``Qwen3Embeddings``: Qwen3-Embedding as a LangChain ``Embeddings``, queries with the task instruction;
``LangChainEmbedder``: any LangChain ``Embeddings`` as the embedder of a ``MemorySystem``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from agent_memory import TASKS
from agent_memory.embeddings import BaseEmbedder, Fingerprint, as_unit_rows, create_embedder

__all__ = ["LangChainEmbedder", "Qwen3Embeddings"]


class Qwen3Embeddings(BaseModel, Embeddings):
    """Qwen3-Embedding for LangChain, through agent-memory's embedder.

    ``embed_documents`` embeds texts as they are; ``embed_query`` prepends the task
    instruction (``Instruct: {task}\\nQuery:{query}``), which is how Qwen3-Embedding
    retrieves best. Works with any LangChain vector store. Settings mirror
    :class:`agent_memory.MemorySystem`: ``model`` defaults to ``AGENT_MEMORY_MODEL``
    (else Qwen3-Embedding-0.6B), ``device`` to ``AGENT_MEMORY_DEVICE``. Weights load
    on the first embedding, not at construction.

    Example:
        .. code-block:: python

            embeddings = Qwen3Embeddings(model="Qwen/Qwen3-Embedding-0.6B", dimensions=512)
            vector = embeddings.embed_query("What does Alice drink?")
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str | None = None
    """Hub id or local path; ``None`` reads ``AGENT_MEMORY_MODEL``."""
    task: str = Field(default=TASKS["memory"])
    """Instruction for queries: a key of ``agent_memory.TASKS`` or a sentence."""
    dimensions: int | None = None
    """Matryoshka output size (32..model size); vectors are cut and re-normalised."""
    backend: str | None = None
    """How the model runs: ``transformers``, ``sentence-transformers``, ``vllm``, ``openai`` (default ``auto``)."""
    device: str | None = None
    """``cpu``, ``cuda``, ``mps``...; ``None`` reads ``AGENT_MEMORY_DEVICE`` or picks one."""
    base_url: str | None = None
    """The server of the ``openai`` backend (``vllm serve``...); ``None`` reads ``AGENT_MEMORY_BASE_URL``."""
    api_key: str | None = Field(default=None, repr=False)
    """The server's key, if it wants one; ``None`` reads ``AGENT_MEMORY_API_KEY``."""

    _embedder: BaseEmbedder = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        # Built here, not in a validator, so agent-memory's own errors (UnknownTaskError,
        # ModelNotFoundError, ...) reach the caller instead of being wrapped by pydantic.
        self._embedder = create_embedder(
            self.model,
            backend=self.backend,
            dimensions=self.dimensions,
            device=self.device,
            base_url=self.base_url,
            api_key=self.api_key,
        )
        self._embedder.format_query("", self.task)  # an unknown task fails here, not at the first query
        self.model = self._embedder.model

    @property
    def embedder(self) -> BaseEmbedder:
        """The agent-memory embedder underneath (shares its loaded model with MemorySystem)."""
        return self._embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts to store, without an instruction."""
        return self._embedder.embed_documents(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query, with the task instruction."""
        return self._embedder.embed_queries([text], self.task)[0].tolist()  # type: ignore[no-any-return]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """``embed_documents`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """``embed_query`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.embed_query, text)

    def __repr_args__(self) -> Any:
        return [(k, v) for k, v in super().__repr_args__() if v is not None]


class LangChainEmbedder:
    """Any LangChain ``Embeddings`` as an agent-memory :class:`~agent_memory.embeddings.Embedder`, so
    that a :class:`~agent_memory.MemorySystem` embeds with it: ``MemorySystem(embedder=LangChainEmbedder(
    OpenAIEmbeddings()))``. Documents go through ``embed_documents``, each query through
    ``embed_query`` (the model's own query form: a LangChain ``Embeddings`` takes no task instruction).
    Vectors are made unit-norm. The size is found by one ``embed_query`` call, when first needed.

    The fingerprint (what a collection records, and refuses another embedder for) names the class
    and its ``model`` or ``model_name``: ``langchain:{module}.{class}[:{model}]``, as
    :class:`~langchain_agent_memory.AgentMemoryVectorStore` has always recorded it.
    """

    def __init__(self, embeddings: Embeddings) -> None:
        self.embeddings = embeddings
        self._dimension: int | None = None

    def __repr__(self) -> str:
        return f"LangChainEmbedder({self.embeddings!r})"

    @property
    def dimension(self) -> int:
        """The size of the vectors (asked of the model once)."""
        if self._dimension is None:
            probe = as_unit_rows([self.embeddings.embed_query("dimension")], 1, "embedding.embed_query")
            self._dimension = int(probe.shape[1])
        return self._dimension

    @property
    def fingerprint(self) -> Fingerprint:
        kind = type(self.embeddings)
        name = getattr(self.embeddings, "model", None) or getattr(self.embeddings, "model_name", None)
        model = f"langchain:{kind.__module__}.{kind.__qualname__}" + (f":{name}" if name else "")
        return Fingerprint(model=model, dimension=self.dimension, query_format="embed_query")

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Texts to store, through ``embed_documents``."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return as_unit_rows(self.embeddings.embed_documents(list(texts)), len(texts), "embedding.embed_documents")

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> NDArray[np.float32]:
        """Search queries, each through ``embed_query`` (``task`` is not used)."""
        if not queries:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return as_unit_rows([self.embeddings.embed_query(q) for q in queries], len(queries), "embedding.embed_query")
