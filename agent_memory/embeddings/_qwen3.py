"""Qwen3-Embedding's forward pass without padding.

Batches of short texts spend most of a padded forward pass on padding: a batch
is as long as its longest text, and every shorter text is filled up to it. This
module runs the decoder on the batch's tokens laid end to end instead (one
``(tokens, hidden)`` matrix, no padding at all) using the weights of a loaded
``transformers`` ``Qwen3Model``. Only attention needs to know where one text ends
and the next begins; every other operation acts on one token at a time.

Attention runs through FlashAttention's variable-length kernel when the
``flash_attn`` package is installed on a CUDA device, and otherwise through
PyTorch's ``scaled_dot_product_attention`` once per run of equal-length texts
(batches are length-sorted, so runs are long) with the plain causal mask, so
no mask is ever materialised. Positions restart at 0 for every text, which is
what the unpadded model computes; rotary embeddings depend only on relative
positions, so the result equals a padded forward's to rounding.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from agent_memory._errors import ConfigurationError

if TYPE_CHECKING:
    from transformers import Qwen3Model

__all__ = ["Qwen3Encoder", "plan_batches"]

SUPPORTED_MODEL_TYPES = ("qwen3",)


def plan_batches(lengths: Sequence[int], max_tokens: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches of at most ``max_tokens`` tokens.

    Texts are taken shortest first, so each batch holds texts of similar length
    and equal lengths sit next to each other; a text longer than the budget gets
    a batch of its own.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if current and total + lengths[index] > max_tokens:
            batches.append(current)
            current, total = [], 0
        current.append(index)
        total += lengths[index]
    if current:
        batches.append(current)
    return batches


def _equal_length_runs(lengths: Sequence[int]) -> Iterator[tuple[int, int, int]]:
    """``(first token, number of texts, length)`` for each run of equal lengths."""
    start = 0
    for length, run in groupby(lengths):
        count = len(list(run))
        yield start, count, length
        start += count * length


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def check_architecture(config: Any) -> None:
    """Refuse models this forward pass does not implement, naming the alternative."""
    if config.model_type not in SUPPORTED_MODEL_TYPES:
        raise ConfigurationError(
            f"the transformers backend runs Qwen3 models, not {config.model_type!r}; "
            "use backend='sentence-transformers' for this model"
        )
    layer_types = getattr(config, "layer_types", None) or ["full_attention"]
    if getattr(config, "use_sliding_window", False) and any(t != "full_attention" for t in layer_types):
        raise ConfigurationError("the transformers backend does not implement sliding-window attention")


class Qwen3Encoder:
    """Last-token hidden states of a ``Qwen3Model`` for texts given as packed token ids."""

    def __init__(self, model: Qwen3Model) -> None:
        check_architecture(model.config)
        self.model = model
        self.num_heads = int(model.config.num_attention_heads)
        self.num_kv_heads = int(model.config.num_key_value_heads or self.num_heads)
        self.head_dim = int(getattr(model.config, "head_dim", None) or model.config.hidden_size // self.num_heads)
        self.uses_flash_attn = self._can_use_flash_attn()

    @property
    def device(self) -> torch.device:
        return self.model.embed_tokens.weight.device

    def _can_use_flash_attn(self) -> bool:
        return (
            self.device.type == "cuda"
            and self.model.embed_tokens.weight.dtype in (torch.float16, torch.bfloat16)
            and importlib.util.find_spec("flash_attn") is not None
        )

    @torch.inference_mode()
    def last_hidden_states(self, token_ids: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
        """Final-norm hidden state of each text's last token, shape ``(len(lengths), hidden)``.

        ``token_ids`` holds the texts' ids end to end (``sum(lengths)`` of them) on
        the model's device. Equal lengths should be adjacent (see :func:`plan_batches`).
        """
        model = self.model
        bounds = torch.tensor([0, *lengths], device=token_ids.device).cumsum(0)
        positions = torch.arange(len(token_ids), device=token_ids.device)
        positions -= torch.repeat_interleave(bounds[:-1], torch.tensor(lengths, device=token_ids.device))
        hidden = model.embed_tokens(token_ids)
        cos, sin = model.rotary_emb(hidden[None], positions[None])
        rotary = (cos[0, :, None, :], sin[0, :, None, :])
        attend = self._bind_attention(lengths, bounds)
        layer: Any
        for layer in model.layers:
            hidden = hidden + self._attention(layer.self_attn, layer.input_layernorm(hidden), rotary, attend)
            hidden = hidden + layer.mlp(layer.post_attention_layernorm(hidden))
        last = hidden[bounds[1:] - 1]
        normed: torch.Tensor = model.norm(last)
        return normed

    def _attention(
        self,
        attention: Any,
        hidden: torch.Tensor,
        rotary: tuple[torch.Tensor, torch.Tensor],
        attend: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        tokens = hidden.shape[0]
        cos, sin = rotary
        q = attention.q_norm(attention.q_proj(hidden).view(tokens, self.num_heads, self.head_dim))
        k = attention.k_norm(attention.k_proj(hidden).view(tokens, self.num_kv_heads, self.head_dim))
        v = attention.v_proj(hidden).view(tokens, self.num_kv_heads, self.head_dim)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        out: torch.Tensor = attention.o_proj(attend(q, k, v).reshape(tokens, self.num_heads * self.head_dim))
        return out

    def _bind_attention(
        self, lengths: Sequence[int], bounds: torch.Tensor
    ) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]:
        """The attention function for this batch, with its layout computed once for all layers."""
        if self.uses_flash_attn:
            cu_seqlens = bounds.to(torch.int32)
            longest = max(lengths)
            return lambda q, k, v: self._flash_varlen(q, k, v, cu_seqlens, longest)
        runs = list(_equal_length_runs(lengths))
        return lambda q, k, v: self._sdpa_runs(q, k, v, runs)

    def _sdpa_runs(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, runs: list[tuple[int, int, int]]
    ) -> torch.Tensor:
        out = torch.empty_like(q)
        for start, count, length in runs:
            end = start + count * length
            q_run, k_run, v_run = (x[start:end].view(count, length, *x.shape[1:]).transpose(1, 2) for x in (q, k, v))
            result = F.scaled_dot_product_attention(q_run, k_run, v_run, is_causal=True, enable_gqa=True)
            out[start:end] = result.transpose(1, 2).flatten(0, 1)
        return out

    def _flash_varlen(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seqlens: torch.Tensor, longest: int
    ) -> torch.Tensor:
        from flash_attn import flash_attn_varlen_func  # type: ignore[import-not-found]

        out: torch.Tensor = flash_attn_varlen_func(q, k, v, cu_seqlens, cu_seqlens, longest, longest, causal=True)
        return out
