"""Building the configured embedder: the one place that maps a backend name to its class."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from agent_memory import _config
from agent_memory._errors import ConfigurationError
from agent_memory.embeddings._base import BaseEmbedder, Embedder, Fingerprint

__all__ = ["BACKENDS", "auto_backend", "check_embedder", "create_embedder"]

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
    clash = sorted(set(extra) & {"model", "dimensions", "device", "base_url", "api_key"})
    if clash:
        raise ConfigurationError(f"pass {', '.join(clash)} as an argument of its own, not in the backend's options")
    if backend == "auto":
        backend = auto_backend(model)
    if backend == "vllm" and device is not None:
        raise ConfigurationError("the vllm backend picks its device itself (CUDA_VISIBLE_DEVICES); do not pass device")
    device = device or _config.default_device()
    if backend in ("transformers", "sentence-transformers"):
        extra["device"] = device
    elif backend == "openai":
        env_url, env_key = _config.embeddings_server()
        extra["base_url"] = base_url or env_url or ""
        extra["api_key"] = api_key or env_key
    cls = _backend_class(backend)
    _check_options(cls, backend, options or {})
    return cls(model, dimensions=dimensions, **extra)


def _backend_class(backend: str) -> Callable[..., BaseEmbedder]:
    """The class of a backend, imported only when chosen (each pulls in its own libraries)."""
    if backend == "transformers":
        from agent_memory.embeddings._transformers import TransformersEmbedder

        return TransformersEmbedder
    if backend == "sentence-transformers":
        from agent_memory.embeddings._sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder
    if backend == "vllm":
        from agent_memory.embeddings._vllm import VLLMEmbedder

        return VLLMEmbedder
    if backend == "openai":
        from agent_memory.embeddings._openai import OpenAIEmbedder

        return OpenAIEmbedder
    raise ConfigurationError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")


def _check_options(cls: Callable[..., BaseEmbedder], backend: str, options: Mapping[str, Any]) -> None:
    """Refuse options the backend does not take, by its constructor's signature (so that a bug
    inside a constructor is never mistaken for a bad option)."""
    parameters = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    taken = {name for name in parameters if name not in ("self", "model", "dimensions")}
    unknown = sorted(set(options) - taken)
    if unknown:
        raise ConfigurationError(
            f"backend {backend!r} takes no option {', '.join(map(repr, unknown))}; it takes: {', '.join(sorted(taken))}"
        )


def check_embedder(embedder: object) -> None:
    """A custom embedder must be an :class:`Embedder` whose ``fingerprint`` is a :class:`Fingerprint`:
    said now, not deep in the store at the first write."""
    if not isinstance(embedder, Embedder):
        raise ConfigurationError(f"embedder {embedder!r} does not implement the Embedder protocol")
    if not isinstance(embedder.fingerprint, Fingerprint):
        got = type(embedder.fingerprint).__name__
        raise ConfigurationError(f"embedder {embedder!r}: fingerprint must be a Fingerprint, got {got}")
