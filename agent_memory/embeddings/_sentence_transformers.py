"""Any sentence-transformers model (Qwen3-Embedding with its model card's recipe), through sentence-transformers."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agent_memory._errors import ModelNotFoundError
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
    from sentence_transformers import SentenceTransformer

__all__ = ["SentenceTransformerEmbedder"]

_MODELS: SharedModels[SentenceTransformer] = SharedModels()


def _model_kwargs(device: str) -> dict[str, Any]:
    """Half precision and fast attention on GPUs; fp32 elsewhere, for exact results."""
    if not device.startswith("cuda"):
        return {}
    dtype = half_precision_dtype()
    fast = "flash_attention_2" if importlib.util.find_spec("flash_attn") else "sdpa"
    return {"dtype": dtype, "attn_implementation": fast}


def _load(ref: ModelRef, device: str, max_length: int) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    offline = ref.local_files_only()
    try:
        model = SentenceTransformer(
            ref.load_from, device=device, local_files_only=offline, model_kwargs=_model_kwargs(device)
        )
    except OSError as exc:  # the hub client's errors (offline, 404, missing files) are OSErrors
        raise model_not_found(ref.load_from, reason=str(exc).splitlines()[0]) from None
    model.max_seq_length = min(max_length, model.max_seq_length or max_length)
    return model


class SentenceTransformerEmbedder(LocalModelEmbedder):
    """Embeds with a sentence-transformers model, Qwen3-Embedding's recipe by default.

    Qwen3-Embedding's sentence-transformers files already give last-token
    pooling, left padding and L2 normalisation; this class adds the rest of the
    model card: the ``Instruct: {task}\\nQuery:{query}`` format for queries only,
    Matryoshka truncation with re-normalisation, an 8192-token limit (longer
    texts are truncated with a :class:`TextTruncatedWarning`), and bf16/fp16 with
    fast attention on CUDA. The model loads on first use, once per process.

    ``instruction_aware=None`` detects Qwen3-Embedding models (by name, or by an
    ``Instruct:`` query prompt in the model's own configuration); other models,
    such as all-MiniLM-L6-v2, embed queries as plain text unless it is set to True.
    ``name`` overrides the model name recorded in the store's fingerprint (for a
    local copy of a hub model, say).
    """

    def __init__(
        self,
        model: str,
        *,
        dimensions: int | None = None,
        device: str | None = None,
        instruction_aware: bool | None = None,
        batch_size: int = 32,
        max_length: int = DEFAULT_MAX_LENGTH,
        name: str | None = None,
    ) -> None:
        super().__init__(model, name=name, dimensions=dimensions, instruction_aware=instruction_aware)
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self._st: SentenceTransformer | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, dimensions={self._dimensions}, device={self.device!r})"

    @property
    def sentence_transformer(self) -> SentenceTransformer:
        """The loaded model, shared by every embedder of the same model, device and limit."""
        if self._st is None:
            device = self.device or auto_device()
            key = (self._ref.load_from, device, self.max_length)
            self._st = _MODELS.get(key, lambda: _load(self._ref, device, self.max_length))
            validate_dimensions(self._dimensions, self.native_dimension)
        return self._st

    @property
    def native_dimension(self) -> int:
        dimension = self.sentence_transformer.get_embedding_dimension()
        if dimension is None:
            raise ModelNotFoundError(f"{self.model!r} does not declare an embedding dimension")
        return int(dimension)

    def _detect_instruction_aware(self) -> bool:
        """As for every local model, or by an ``Instruct:`` query prompt in the model's own configuration."""
        query_prompt = str(self.sentence_transformer.prompts.get("query", ""))
        return super()._detect_instruction_aware() or query_prompt.startswith("Instruct:")

    def _warn_if_truncated(self, model: SentenceTransformer, texts: list[str]) -> None:
        limit = model.max_seq_length or self.max_length
        # A token covers at least one byte, so only texts with more bytes than the limit can be too long.
        candidates = [t for t in texts if len(t.encode("utf-8", "surrogatepass")) + 8 > limit]
        if not candidates:
            return
        lengths = [len(ids) for ids in model.tokenizer(candidates, add_special_tokens=True)["input_ids"]]
        warn_truncated(sum(length > limit for length in lengths), limit)

    def _encode(self, texts: list[str]) -> NDArray[np.float32]:
        model = self.sentence_transformer
        self._warn_if_truncated(model, texts)
        vectors = model.encode(
            texts,
            prompt="",  # the instruction is already in the text; never let a default prompt apply
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
