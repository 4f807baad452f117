"""The fast backend: Qwen3-Embedding run by agent-memory itself on ``transformers`` weights.

What it does differently from sentence-transformers, each step measured in
``benchmarks/embed_throughput.py``:

* batches are built by a token budget over length-sorted texts, not by a count
  of texts, so a batch of short memories is as large as one of long documents;
* a batch has no padding at all: texts are laid end to end and attention keeps
  them apart (:mod:`agent_memory.embeddings._qwen3`);
* every text is tokenised once, in one call to the Rust tokenizer, and its
  length read from the tokens (sentence-transformers sorts by characters).

Outputs equal the sentence-transformers backend's: to 1e-5 in float32 (the CPU
default) and to cosine 0.999 in bfloat16/float16 (the GPU default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._errors import ConfigurationError, EmbeddingError
from agent_memory.embeddings._base import LocalModelEmbedder, validate_dimensions
from agent_memory.embeddings._models import (
    DEFAULT_MAX_LENGTH,
    ModelRef,
    SharedModels,
    auto_device,
    half_precision_dtype,
    model_not_found,
    warn_truncated,
)

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

    from agent_memory.embeddings._qwen3 import Qwen3Encoder

__all__ = ["DTYPES", "TransformersEmbedder"]

DTYPES = ("float32", "bfloat16", "float16")
"""Accepted ``dtype`` values; ``None`` picks bfloat16 (or float16) on CUDA and float32 elsewhere."""

DEFAULT_BATCH_TOKENS = {"cuda": 32768, "cpu": 1024}
"""Tokens per forward pass. Small on CPUs, where larger batches gain nothing
(measured: 512, 1024, 2048 and 4096 within 10%), large on GPUs to fill them."""


def _resolve_dtype(dtype: str | None, device: str) -> torch.dtype:
    import torch

    if dtype is None:
        return half_precision_dtype() if device.startswith("cuda") else torch.float32
    resolved: torch.dtype = getattr(torch, dtype)
    return resolved


@dataclass(frozen=True)
class _Engine:
    """A loaded model: its tokenizer (truncating, never padding) and its padding-free encoder."""

    tokenizer: Tokenizer
    encoder: Qwen3Encoder
    max_length: int

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.model.config.hidden_size)

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, at most ``max_length`` of them (with a warning when cut)."""
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        warn_truncated(sum(bool(e.overflowing) for e in encodings), self.max_length)
        return [e.ids for e in encodings]


_ENGINES: SharedModels[_Engine] = SharedModels()


def _load_tokenizer(ref: ModelRef, offline: bool, max_length: int) -> Tokenizer:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(ref.load_from, local_files_only=offline)
    # A private copy of the Rust tokenizer: the same token ids sentence-transformers gets,
    # with truncation that reports what it cut and no padding (batches are packed).
    tokenizer = Tokenizer.from_str(loaded.backend_tokenizer.to_str())
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length, direction=loaded.truncation_side)
    return tokenizer


def _load(ref: ModelRef, device: str, dtype: torch.dtype, max_length: int) -> _Engine:
    from transformers import AutoConfig, AutoModel

    from agent_memory.embeddings._qwen3 import Qwen3Encoder, check_architecture

    offline = ref.local_files_only()
    try:
        check_architecture(AutoConfig.from_pretrained(ref.load_from, local_files_only=offline))
        tokenizer = _load_tokenizer(ref, offline, max_length)
        model = AutoModel.from_pretrained(ref.load_from, dtype=dtype, local_files_only=offline)
    except OSError as exc:  # the hub client's errors (offline, 404, missing files) are OSErrors
        raise model_not_found(ref.load_from, reason=str(exc).splitlines()[0]) from None
    return _Engine(tokenizer, Qwen3Encoder(model.to(device).eval()), max_length)


class TransformersEmbedder(LocalModelEmbedder):
    """Embeds with Qwen3-Embedding, padding-free, on weights loaded by ``transformers``.

    The default backend for Qwen3 models: same vectors as
    :class:`~agent_memory.embeddings.SentenceTransformerEmbedder`, faster (see the
    README's benchmark). The model card's recipe is implemented here: last-token
    pooling, the ``Instruct: {task}\\nQuery:{query}`` format for queries only,
    Matryoshka truncation with re-normalisation and an 8192-token limit (longer
    texts are truncated with a :class:`TextTruncatedWarning`).

    ``dtype`` is ``"float32"``, ``"bfloat16"`` or ``"float16"``; ``None`` means
    bfloat16 (float16 on GPUs without it) on CUDA, where FlashAttention's
    variable-length kernel is used when ``flash_attn`` is installed, and float32
    elsewhere, for results equal to the reference code's. ``"bfloat16"`` on a CPU
    with AVX-512-BF16 or AMX is about twice as fast, at cosine 0.999 to float32.
    ``max_batch_tokens`` is the token budget of one forward pass (see
    :data:`DEFAULT_BATCH_TOKENS`). Models other than Qwen3 raise
    :class:`~agent_memory.ConfigurationError`; use the sentence-transformers backend.
    """

    def __init__(
        self,
        model: str,
        *,
        dimensions: int | None = None,
        device: str | None = None,
        dtype: str | None = None,
        instruction_aware: bool | None = None,
        max_batch_tokens: int | None = None,
        max_length: int = DEFAULT_MAX_LENGTH,
        name: str | None = None,
    ) -> None:
        if max_batch_tokens is not None and max_batch_tokens < 1:
            raise ConfigurationError(f"max_batch_tokens must be positive, got {max_batch_tokens}")
        if dtype is not None and dtype not in DTYPES:
            raise ConfigurationError(f"dtype must be one of {', '.join(DTYPES)} or None, got {dtype!r}")
        super().__init__(model, name=name, dimensions=dimensions, instruction_aware=instruction_aware)
        self.device = device
        self.dtype = dtype
        self.max_batch_tokens = max_batch_tokens
        self.max_length = max_length
        self._engine: _Engine | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.model!r}, dimensions={self._dimensions}, "
            f"device={self.device!r}, dtype={self.dtype!r})"
        )

    @property
    def engine(self) -> _Engine:
        """The loaded model, shared by every embedder of the same model, device, dtype and limit."""
        if self._engine is None:
            device = self.device or auto_device()
            dtype = _resolve_dtype(self.dtype, device)
            key = (self._ref.load_from, device, str(dtype), self.max_length)
            self._engine = _ENGINES.get(key, lambda: _load(self._ref, device, dtype, self.max_length))
            validate_dimensions(self._dimensions, self.native_dimension)
        return self._engine

    @property
    def native_dimension(self) -> int:
        return self.engine.hidden_size

    def _batch_tokens(self, device: Any) -> int:
        if self.max_batch_tokens is not None:
            return self.max_batch_tokens
        return DEFAULT_BATCH_TOKENS["cuda" if device.type == "cuda" else "cpu"]

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        import torch

        from agent_memory.embeddings._qwen3 import plan_batches

        engine = self.engine
        encoder = engine.encoder
        ids = engine.tokenize(texts)
        lengths = [len(i) for i in ids]
        if min(lengths) == 0:
            raise EmbeddingError(f"{self.model!r} turns an empty text into no tokens; it cannot be embedded")
        out = np.empty((len(texts), engine.hidden_size), dtype=np.float32)
        for batch in plan_batches(lengths, self._batch_tokens(encoder.device)):
            flat = torch.tensor([t for i in batch for t in ids[i]], dtype=torch.long)
            hidden = encoder.last_hidden_states(flat.to(encoder.device), [lengths[i] for i in batch])
            out[batch] = hidden.float().cpu().numpy()
        return out
