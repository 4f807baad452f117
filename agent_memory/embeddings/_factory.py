"""Building the configured embedder: the one place that maps a backend name to its class."""

from __future__ import annotations

from agent_memory import _config
from agent_memory._errors import ConfigurationError
from agent_memory.embeddings._base import BaseEmbedder
from agent_memory.embeddings._sentence_transformers import SentenceTransformerEmbedder

__all__ = ["BACKENDS", "create_embedder"]

BACKENDS = ("sentence-transformers",)
"""Backend names accepted by ``MemorySystem(backend=...)`` and the integrations."""


def create_embedder(
    model: str | None = None,
    *,
    backend: str | None = None,
    dimensions: int | None = None,
    device: str | None = None,
) -> BaseEmbedder:
    """The embedder for these settings, with the environment's defaults filled in.

    ``model`` defaults to ``AGENT_MEMORY_MODEL`` (else Qwen3-Embedding-0.6B) and
    ``device`` to ``AGENT_MEMORY_DEVICE``. Nothing is loaded until the first embedding.
    """
    backend = backend or _config.DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ConfigurationError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    return SentenceTransformerEmbedder(
        model or _config.default_model(), dimensions=dimensions, device=device or _config.default_device()
    )
