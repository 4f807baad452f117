"""Building the configured embedder: the one place that maps a backend name to its class."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from agent_memory import _config
from agent_memory._errors import ConfigurationError
from agent_memory.embeddings._base import BaseEmbedder

__all__ = ["BACKENDS", "auto_backend", "create_embedder"]

BACKENDS = ("auto", "transformers", "sentence-transformers", "vllm", "openai")
"""Backend names accepted by ``MemorySystem(backend=...)``, ``AGENT_MEMORY_BACKEND`` and the integrations.

``auto`` (the default) is ``transformers`` for Qwen3 models and ``sentence-transformers`` for others.
"""


def auto_backend(model: str) -> str:
    """The in-process backend for ``model``: the fast Qwen3 engine where it applies."""
    from agent_memory.embeddings._models import resolve_model

    return "transformers" if resolve_model(model).is_qwen3() else "sentence-transformers"


def create_embedder(
    model: str | None = None,
    *,
    backend: str | None = None,
    dimensions: int | None = None,
    device: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> BaseEmbedder:
    """The embedder for these settings, with the environment's defaults filled in.

    ``model`` defaults to ``AGENT_MEMORY_MODEL`` (else Qwen3-Embedding-0.6B),
    ``backend`` to ``AGENT_MEMORY_BACKEND`` (else ``auto``, see :data:`BACKENDS`), ``device``
    to ``AGENT_MEMORY_DEVICE``, and for the openai backend ``base_url``/``api_key``
    to ``AGENT_MEMORY_BASE_URL``/``AGENT_MEMORY_API_KEY``. ``options`` are the
    chosen backend's own keyword arguments (vLLM's ``dtype``, a server's
    ``max_concurrency``...). Nothing is loaded or connected until the first embedding.
    """
    backend = backend or _config.default_backend()
    model = model or _config.default_model()
    extra = dict(options or {})
    device = device or _config.default_device()
    if backend == "auto":
        backend = auto_backend(model)
    try:
        if backend == "transformers":
            from agent_memory.embeddings._transformers import TransformersEmbedder

            return TransformersEmbedder(model, dimensions=dimensions, device=device, **extra)
        if backend == "sentence-transformers":
            from agent_memory.embeddings._sentence_transformers import SentenceTransformerEmbedder

            return SentenceTransformerEmbedder(model, dimensions=dimensions, device=device, **extra)
        if backend == "vllm":
            from agent_memory.embeddings._vllm import VLLMEmbedder

            return VLLMEmbedder(model, dimensions=dimensions, **extra)
        if backend == "openai":
            from agent_memory.embeddings._openai import OpenAIEmbedder

            url = base_url or os.environ.get("AGENT_MEMORY_BASE_URL", "")
            key = api_key or os.environ.get("AGENT_MEMORY_API_KEY") or None
            return OpenAIEmbedder(model, base_url=url, api_key=key, dimensions=dimensions, **extra)
    except TypeError as exc:  # an option the backend does not take
        raise ConfigurationError(f"backend {backend!r}: {exc}") from None
    raise ConfigurationError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
