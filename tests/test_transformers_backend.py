"""The transformers backend (padding-free Qwen3) against sentence-transformers, on the tiny Qwen3 model."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from agent_memory import ConfigurationError, MemorySystem, format_query
from agent_memory.embeddings import (
    SentenceTransformerEmbedder,
    TextTruncatedWarning,
    TransformersEmbedder,
    create_embedder,
    normalize_rows,
)
from agent_memory.embeddings._qwen3 import plan_batches

TEXTS = [
    "Alice likes coffee",
    "  leading and trailing whitespace \n",
    "",
    "用户 Alice 喜欢喝咖啡。Bob 对花生过敏。",
    "Bob is allergic to peanuts and prefers tea. " * 6,
    "a",
    "b",
    "Alice likes coffee",
    "The weather is lovely today. It's so sunny outside!",
    "def retrieve(query): return [m for m in memories if query in m]",
]

NONEMPTY = [t for t in TEXTS if t]
"""For norms and cosines: the tiny model embeds "" (only its end-of-text token, a zero row) as zero."""


@pytest.fixture(scope="module")
def reference(tiny_qwen3: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(tiny_qwen3, device="cpu")


@pytest.mark.parametrize("max_batch_tokens", [1, 7, 40, None])
def test_float32_documents_equal_sentence_transformers(
    tiny_qwen3: str, reference: SentenceTransformerEmbedder, max_batch_tokens: int | None
) -> None:
    ours = TransformersEmbedder(tiny_qwen3, device="cpu", max_batch_tokens=max_batch_tokens)
    np.testing.assert_allclose(ours.embed_documents(TEXTS), reference.embed_documents(TEXTS), atol=1e-5, rtol=0)


def test_float32_queries_get_the_instruction_and_equal_sentence_transformers(
    tiny_qwen3: str, reference: SentenceTransformerEmbedder
) -> None:
    ours = TransformersEmbedder(tiny_qwen3, device="cpu")
    assert ours.instruction_aware
    queries = ours.embed_queries(TEXTS, "Find the user's drinks")
    np.testing.assert_allclose(queries, reference.embed_queries(TEXTS, "Find the user's drinks"), atol=1e-5, rtol=0)
    formatted = [format_query(t, "Find the user's drinks") for t in TEXTS]
    np.testing.assert_allclose(queries, ours.embed_documents(formatted), atol=1e-6, rtol=0)
    assert np.abs(queries - ours.embed_documents(TEXTS)).max() > 1e-2


def test_matryoshka_dimensions_equal_sentence_transformers(tiny_qwen3: str) -> None:
    texts = NONEMPTY
    ours = TransformersEmbedder(tiny_qwen3, device="cpu", dimensions=32).embed_documents(texts)
    peer = SentenceTransformerEmbedder(tiny_qwen3, device="cpu", dimensions=32).embed_documents(texts)
    assert ours.shape == (len(texts), 32)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(ours, peer, atol=1e-5, rtol=0)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_is_within_the_usual_tolerance(tiny_qwen3: str, dtype: str) -> None:
    from sentence_transformers import SentenceTransformer

    texts = NONEMPTY
    ours = TransformersEmbedder(tiny_qwen3, device="cpu", dtype=dtype).embed_documents(texts)
    peer = SentenceTransformer(tiny_qwen3, device="cpu", model_kwargs={"dtype": getattr(torch, dtype)})
    theirs = normalize_rows(peer.encode(texts, prompt="", convert_to_numpy=True).astype(np.float32))
    full = TransformersEmbedder(tiny_qwen3, device="cpu").embed_documents(texts)
    assert np.sum(ours * theirs, axis=1).min() >= 0.999
    assert np.sum(ours * full, axis=1).min() >= 0.999
    assert np.abs(ours - full).max() > 1e-6  # it really ran in half precision


def test_each_text_is_embedded_alone_whatever_its_batch(tiny_qwen3: str) -> None:
    """Packed texts must not see each other: equal lengths share one attention call, others do not."""
    ours = TransformersEmbedder(tiny_qwen3, device="cpu", max_batch_tokens=4096)
    rng = np.random.default_rng(0)
    texts = [TEXTS[i] for i in rng.integers(0, len(TEXTS), size=40)] + ["abc", "abd", "abe"]
    together = ours.embed_documents(texts)
    alone = np.vstack([ours.embed_documents([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6, rtol=0)


def test_truncation_matches_sentence_transformers_and_warns_at_the_caller(tiny_qwen3: str) -> None:
    ours = TransformersEmbedder(tiny_qwen3, device="cpu", max_length=12)
    peer = SentenceTransformerEmbedder(tiny_qwen3, device="cpu", max_length=12)
    with pytest.warns(TextTruncatedWarning, match="^4 text") as caught:
        vectors = ours.embed_documents(TEXTS)
    assert caught[0].filename == __file__
    with pytest.warns(TextTruncatedWarning) as caught:
        np.testing.assert_allclose(vectors, peer.embed_documents(TEXTS), atol=1e-5, rtol=0)
    assert caught[0].filename == __file__


@pytest.mark.parametrize("backend", ["transformers", "sentence-transformers"])
def test_the_truncation_warning_points_at_the_users_line_through_memory_system(tiny_qwen3: str, backend: str) -> None:
    from agent_memory import MemorySystem

    options = {"max_length": 12}
    with (
        MemorySystem(tiny_qwen3, backend=backend, backend_options=options, path=":memory:") as memory,
        pytest.warns(TextTruncatedWarning) as caught,
    ):
        line = sys._getframe().f_lineno + 1
        memory.store_memory("Alice likes coffee " * 20, user_id="alice")  # the line the warning names
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)


def test_one_engine_per_model_device_and_dtype(tiny_qwen3: str) -> None:
    first, second = TransformersEmbedder(tiny_qwen3, device="cpu"), TransformersEmbedder(tiny_qwen3, device="cpu")
    assert first.engine is second.engine
    assert TransformersEmbedder(tiny_qwen3, device="cpu", dtype="bfloat16").engine is not first.engine


def test_bad_settings_are_configuration_errors(tiny_qwen3: str, minilm: str) -> None:
    with pytest.raises(ConfigurationError, match="dtype"):
        TransformersEmbedder(tiny_qwen3, dtype="int8")
    with pytest.raises(ConfigurationError, match="max_batch_tokens"):
        TransformersEmbedder(tiny_qwen3, max_batch_tokens=0)
    with pytest.raises(ConfigurationError, match=r"runs Qwen3 models, not 'bert'.*sentence-transformers"):
        TransformersEmbedder(minilm, device="cpu").embed_documents(["x"])


def test_auto_backend_picks_the_engine_for_qwen3_and_sentence_transformers_otherwise(
    tiny_qwen3: str, minilm: str
) -> None:
    assert type(create_embedder(tiny_qwen3)) is TransformersEmbedder
    assert type(create_embedder("Qwen/Qwen3-Embedding-0.6B")) is TransformersEmbedder  # by name, nothing loaded
    assert type(create_embedder(minilm)) is SentenceTransformerEmbedder
    assert type(create_embedder(tiny_qwen3, backend="sentence-transformers")) is SentenceTransformerEmbedder
    options = {"dtype": "bfloat16", "max_batch_tokens": 64}
    embedder = create_embedder(tiny_qwen3, backend="transformers", options=options)
    assert isinstance(embedder, TransformersEmbedder) and embedder.max_batch_tokens == 64


def test_a_store_written_by_sentence_transformers_is_searched_by_the_engine(tiny_qwen3: str, tmp_path: object) -> None:
    """Same fingerprint, same vectors: switching backends needs no re-index."""
    path = str(tmp_path)
    with MemorySystem(tiny_qwen3, backend="sentence-transformers", path=path) as system:
        system.store_memories(NONEMPTY[:5], user_id="u")
        before = system.search_memory("coffee", user_id="u", top_k=5)
    with MemorySystem(tiny_qwen3, path=path) as system:
        assert isinstance(system.embedder, TransformersEmbedder)
        after = system.search_memory("coffee", user_id="u", top_k=5)
    assert [h.memory.id for h in after] == [h.memory.id for h in before]
    np.testing.assert_allclose([h.score for h in after], [h.score for h in before], atol=1e-5)


@given(st.lists(st.integers(1, 50), max_size=60), st.integers(1, 120))
def test_plan_batches_covers_every_text_once_within_the_budget(lengths: list[int], budget: int) -> None:
    batches = plan_batches(lengths, budget)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or sum(lengths[i] for i in batch) <= budget
        assert [lengths[i] for i in batch] == sorted(lengths[i] for i in batch)
