"""Embedding layer: the :class:`Embedder` protocol and its backends.

Every backend returns unit-norm float32 rows, embeds documents without an
instruction and queries with one (for instruction-aware models such as
Qwen3-Embedding), and applies Matryoshka ``dimensions`` by cutting and
re-normalising. Any object with the same four members works as an embedder.
"""

from agent_memory.embeddings._base import (
    MIN_DIMENSIONS,
    BaseEmbedder,
    Embedder,
    Fingerprint,
    as_unit_rows,
    normalize_rows,
    truncate_and_normalize,
)
from agent_memory.embeddings._cache import EmbeddingCache
from agent_memory.embeddings._factory import BACKENDS, create_embedder
from agent_memory.embeddings._models import DEFAULT_MAX_LENGTH, InstructionAwarenessWarning, TextTruncatedWarning
from agent_memory.embeddings._openai import OpenAIEmbedder
from agent_memory.embeddings._sentence_transformers import SentenceTransformerEmbedder
from agent_memory.embeddings._transformers import TransformersEmbedder
from agent_memory.embeddings._vllm import VLLMEmbedder

__all__ = [
    "BACKENDS",
    "DEFAULT_MAX_LENGTH",
    "MIN_DIMENSIONS",
    "BaseEmbedder",
    "Embedder",
    "EmbeddingCache",
    "Fingerprint",
    "InstructionAwarenessWarning",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "TextTruncatedWarning",
    "TransformersEmbedder",
    "VLLMEmbedder",
    "as_unit_rows",
    "create_embedder",
    "normalize_rows",
    "truncate_and_normalize",
]
