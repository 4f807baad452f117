"""An optional second stage: Qwen3-Reranker reads the query and each candidate memory together.

A cross-encoder sees query and memory in one forward pass, so it can judge
relevance that two independent vectors (or shared words) miss, at the cost of a
model call per candidate. It is applied to the first stage's best candidates
only. The prompt and the score are the model card's: the candidate is judged
under ``<Instruct>: ...\\n<Query>: ...\\n<Document>: ...`` in Qwen's chat format,
and the score is the probability of "yes" against "no" at the last position.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agent_memory._errors import ConfigurationError, EmbeddingError, ModelNotFoundError
from agent_memory._types import SearchHit
from agent_memory.embeddings._models import auto_device, half_precision_dtype, model_not_found, resolve_model
from agent_memory.search._time_rank import best_first

if TYPE_CHECKING:
    import torch

__all__ = [
    "RERANK_PREFIX",
    "RERANK_SUFFIX",
    "Qwen3Reranker",
    "Reranker",
    "as_reranker",
    "format_rerank_input",
    "rerank_hits",
]

RERANK_PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
)
RERANK_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def format_rerank_input(instruction: str, query: str, document: str) -> str:
    """The model card's user turn for one (query, candidate) pair."""
    return f"<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"


@runtime_checkable
class Reranker(Protocol):
    """Scores candidates for a query, higher is more relevant; one score per text, in order."""

    def rerank(self, query: str, texts: Sequence[str], instruction: str) -> list[float]: ...


class Qwen3Reranker:
    """Qwen3-Reranker (0.6B/4B/8B) run in this process, scored as on its model card.

    ``model`` is a hub id or local path. bf16 (fp16) on CUDA, fp32 elsewhere;
    candidates go through in batches of ``batch_size``, left-padded; each pair is
    cut to ``max_length`` tokens with the prompt around it. The model loads on
    first use.
    """

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 16, max_length: int = 8192) -> None:
        self._ref = resolve_model(model)
        self.model = self._ref.name
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self._loaded: tuple[Any, Any, list[int], list[int], list[int]] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, device={self.device!r})"

    def _load(self) -> tuple[Any, Any, list[int], list[int], list[int]]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load_model()
        return self._loaded

    def _load_model(self) -> tuple[Any, Any, list[int], list[int], list[int]]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device or auto_device()
        dtype = half_precision_dtype() if device.startswith("cuda") else torch.float32
        source, offline = self._ref.load_from, self._ref.local_files_only()
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, padding_side="left", local_files_only=offline)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=offline)
        except OSError as exc:
            raise model_not_found(self._ref.load_from, reason=str(exc).splitlines()[0]) from None
        found = [tokenizer.convert_tokens_to_ids(t) for t in ("no", "yes")]
        answer_ids = [i for i in found if isinstance(i, int) and i != tokenizer.unk_token_id]
        if len(answer_ids) != 2:
            raise ModelNotFoundError(f"{self.model!r} has no 'yes'/'no' tokens: it is not a Qwen3-Reranker")
        prefix = tokenizer.encode(RERANK_PREFIX, add_special_tokens=False)
        suffix = tokenizer.encode(RERANK_SUFFIX, add_special_tokens=False)
        if self.max_length <= len(prefix) + len(suffix):
            raise ConfigurationError(f"max_length {self.max_length} leaves no room for the reranker's prompt")
        loaded: Any = model
        return tokenizer, loaded.to(device).eval(), answer_ids, prefix, suffix

    def rerank(self, query: str, texts: Sequence[str], instruction: str) -> list[float]:
        """P("yes") for each text as a match for ``query`` under ``instruction``."""
        pairs = [format_rerank_input(instruction, query, text) for text in texts]
        scores: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            scores += self._score(pairs[start : start + self.batch_size]).tolist()
        return scores

    def _score(self, pairs: list[str]) -> torch.Tensor:
        import torch

        tokenizer, model, answer_ids, prefix, suffix = self._load()
        room = self.max_length - len(prefix) - len(suffix)
        encoded = tokenizer(pairs, padding=False, truncation="longest_first", max_length=room)
        encoded["input_ids"] = [prefix + ids + suffix for ids in encoded["input_ids"]]
        encoded.pop("attention_mask", None)
        batch = tokenizer.pad(encoded, padding=True, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            last = model(**batch, logits_to_keep=1).logits[:, -1, answer_ids].float()
        return torch.log_softmax(last, dim=1)[:, 1].exp().cpu()


def as_reranker(reranker: str | Reranker | None) -> Reranker | None:
    """A configured reranker: a model name or path becomes a :class:`Qwen3Reranker`."""
    if reranker is None or isinstance(reranker, Reranker):
        return reranker
    if isinstance(reranker, str):
        return Qwen3Reranker(reranker)
    raise ConfigurationError(f"reranker must be a model name or a Reranker, got {type(reranker).__name__}")


def rerank_hits(reranker: Reranker, query: str, instruction: str, hits: list[SearchHit]) -> list[SearchHit]:
    """``hits`` re-scored by ``reranker`` and sorted by its scores (the cosine similarity kept). Hits a
    time-aware search put first (those with a ``time_range``) stay first: each group is sorted alone."""
    if not hits:
        return hits
    scores = reranker.rerank(query, [h.text for h in hits], instruction)
    if len(scores) != len(hits):
        raise EmbeddingError(f"the reranker returned {len(scores)} scores for {len(hits)} memories")
    reranked = [replace(h, score=float(s)) for h, s in zip(hits, scores, strict=True)]
    return best_first(reranked)
