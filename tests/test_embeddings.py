"""The embedding layer against the Qwen3-Embedding model card's reference code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer

from agent_memory import DEFAULT_TASK, TASKS, InvalidDimensionsError, ModelNotFoundError, format_query
from agent_memory.embeddings import Embedder, Fingerprint, SentenceTransformerEmbedder, TextTruncatedWarning
from agent_memory.embeddings import _sentence_transformers as st_backend
from agent_memory.testing import HashEmbedder

QUERIES = ["What does Alice drink?", "Which foods should Bob avoid?", "用户 Alice 喜欢喝什么？"]
DOCUMENTS = [
    "Alice likes coffee",
    "Bob is allergic to peanuts and has to be careful at restaurants with satay sauce",
    "用户 Alice 喜欢喝咖啡",
]


# --- reference code from the Qwen3-Embedding model card ---------------------------------
def last_token_pool(last_hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    left_padding = attention_mask[:, -1].sum() == attention_mask.shape[0]
    if left_padding:
        return last_hidden_states[:, -1]
    sequence_lengths = attention_mask.sum(dim=1) - 1
    batch_size = last_hidden_states.shape[0]
    return last_hidden_states[torch.arange(batch_size, device=last_hidden_states.device), sequence_lengths]


def get_detailed_instruct(task_description: str, query: str) -> str:
    return f"Instruct: {task_description}\nQuery:{query}"


def reference_embeddings(model_path: str, input_texts: list[str]) -> np.ndarray:
    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    model = AutoModel.from_pretrained(model_path)
    batch_dict = tokenizer(input_texts, padding=True, truncation=True, max_length=8192, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**batch_dict)
    embeddings = last_token_pool(outputs.last_hidden_state, batch_dict["attention_mask"])
    return F.normalize(embeddings, p=2, dim=1).numpy()


# ------------------------------------------------------------------------------------------


def test_tiny_model_has_the_real_repository_layout(tiny_qwen3: str) -> None:
    import json

    root = Path(tiny_qwen3)
    config = json.loads((root / "config.json").read_text())
    assert config["architectures"] == ["Qwen3ForCausalLM"]
    assert config["model_type"] == "qwen3" and config["head_dim"] == 32
    modules = json.loads((root / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((root / "1_Pooling" / "config.json").read_text())["pooling_mode_lasttoken"] is True
    prompts = json.loads((root / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": format_query("", "web_search"), "document": ""}
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    assert tokenizer.padding_side == "left"
    assert tokenizer("hello")["input_ids"][-1] == tokenizer.convert_tokens_to_ids("<|endoftext|>")


def test_queries_match_the_model_card_with_instruction(tiny_qwen3: str) -> None:
    embedder = SentenceTransformerEmbedder(tiny_qwen3)
    expected = reference_embeddings(tiny_qwen3, [get_detailed_instruct(DEFAULT_TASK, q) for q in QUERIES])
    np.testing.assert_allclose(embedder.embed_queries(QUERIES), expected, atol=1e-5)
    expected_qa = reference_embeddings(tiny_qwen3, [get_detailed_instruct(TASKS["qa"], q) for q in QUERIES])
    np.testing.assert_allclose(embedder.embed_queries(QUERIES, task="qa"), expected_qa, atol=1e-5)


def test_documents_match_the_model_card_without_instruction(tiny_qwen3: str) -> None:
    embedder = SentenceTransformerEmbedder(tiny_qwen3)
    np.testing.assert_allclose(
        embedder.embed_documents(DOCUMENTS), reference_embeddings(tiny_qwen3, DOCUMENTS), atol=1e-5
    )


def test_query_and_document_embeddings_differ(tiny_qwen3: str) -> None:
    embedder = SentenceTransformerEmbedder(tiny_qwen3)
    assert embedder.instruction_aware
    query, document = (
        embedder.embed_queries(["Alice likes coffee"])[0],
        embedder.embed_documents(["Alice likes coffee"])[0],
    )
    assert not np.allclose(query, document, atol=1e-3)


def test_outputs_are_unit_norm_float32_in_input_order(tiny_qwen3: str) -> None:
    embedder = SentenceTransformerEmbedder(tiny_qwen3)
    vectors = embedder.embed_documents(DOCUMENTS)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(embedder.embed_documents(DOCUMENTS[::-1]), vectors[::-1], atol=1e-6)
    assert embedder.embed_documents([]).shape == (0, 64)


@pytest.mark.parametrize("dimensions", [32, 48])
def test_matryoshka_cuts_then_renormalises(tiny_qwen3: str, dimensions: int) -> None:
    embedder = SentenceTransformerEmbedder(tiny_qwen3, dimensions=dimensions)
    full = reference_embeddings(tiny_qwen3, [get_detailed_instruct(DEFAULT_TASK, q) for q in QUERIES])
    cut = full[:, :dimensions] / np.linalg.norm(full[:, :dimensions], axis=1, keepdims=True)
    vectors = embedder.embed_queries(QUERIES)
    assert embedder.dimension == dimensions and vectors.shape == (3, dimensions)
    np.testing.assert_allclose(vectors, cut, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert embedder.fingerprint.dimension == dimensions


@pytest.mark.parametrize("dimensions", [0, 16, 31, -5])
def test_dimensions_below_32_are_rejected_at_construction(tiny_qwen3: str, dimensions: int) -> None:
    with pytest.raises(InvalidDimensionsError, match="32"):
        SentenceTransformerEmbedder(tiny_qwen3, dimensions=dimensions)


def test_dimensions_above_the_model_size_are_rejected_before_embedding(tiny_qwen3: str) -> None:
    embedder = SentenceTransformerEmbedder(tiny_qwen3, dimensions=65)
    with pytest.raises(InvalidDimensionsError, match=r"32\.\.64"):
        embedder.embed_documents(["x"])


@pytest.mark.parametrize("dimensions", [32.0, "64", True])
def test_dimensions_must_be_an_int(tiny_qwen3: str, dimensions: object) -> None:
    with pytest.raises(TypeError):
        SentenceTransformerEmbedder(tiny_qwen3, dimensions=dimensions)  # type: ignore[arg-type]


def test_models_that_are_not_instruction_aware_get_no_instruction(minilm: str) -> None:
    embedder = SentenceTransformerEmbedder(minilm)
    assert not embedder.instruction_aware
    np.testing.assert_allclose(embedder.embed_queries(["coffee"]), embedder.embed_documents(["coffee"]), atol=1e-6)
    assert embedder.fingerprint.query_format == "{query}"
    explicit = SentenceTransformerEmbedder(minilm, instruction_aware=True)
    np.testing.assert_allclose(
        explicit.embed_queries(["coffee"]), explicit.embed_documents([format_query("coffee")]), atol=1e-6
    )


def test_fingerprint_names_model_dimension_and_format(tiny_qwen3: str) -> None:
    fingerprint = SentenceTransformerEmbedder(tiny_qwen3, dimensions=32).fingerprint
    assert fingerprint == Fingerprint(model=tiny_qwen3, dimension=32, query_format="Instruct: {task}\nQuery:{query}")
    assert Fingerprint.from_metadata(fingerprint.to_metadata()) == fingerprint
    named = SentenceTransformerEmbedder(tiny_qwen3, name="Qwen/Qwen3-Embedding-0.6B").fingerprint
    assert named.model == "Qwen/Qwen3-Embedding-0.6B"


def test_model_loads_lazily_and_once_per_process(tiny_qwen3: str) -> None:
    st_backend._MODELS.clear()
    first = SentenceTransformerEmbedder(tiny_qwen3)
    second = SentenceTransformerEmbedder(tiny_qwen3, dimensions=32)
    assert not st_backend._MODELS, "constructing an embedder must not load the model"
    first.embed_documents(["a"])
    second.embed_queries(["b"])
    assert len(st_backend._MODELS) == 1
    assert first.sentence_transformer is second.sentence_transformer


def test_long_text_is_truncated_with_a_warning(tiny_qwen3: str) -> None:
    embedder = SentenceTransformerEmbedder(tiny_qwen3, max_length=16)
    long_text = "Alice likes coffee " * 50
    with pytest.warns(TextTruncatedWarning, match="truncated"):
        vectors = embedder.embed_documents([long_text, "short"])
    assert vectors.shape == (2, 64) and np.isfinite(vectors).all()


def test_missing_model_path_is_a_clear_error() -> None:
    with pytest.raises(ModelNotFoundError, match="AGENT_MEMORY_MODEL"):
        SentenceTransformerEmbedder("/nonexistent/models/qwen3")
    with pytest.raises(ModelNotFoundError):
        SentenceTransformerEmbedder("./no-such-dir/model")


def test_uncached_hub_model_offline_is_a_clear_error() -> None:
    embedder = SentenceTransformerEmbedder("Qwen/Qwen3-Embedding-8B")  # nothing loads yet
    with pytest.raises(ModelNotFoundError, match="AGENT_MEMORY_MODEL") as info:
        embedder.embed_documents(["x"])
    error = info.value  # no chained traceback from deep inside the hub client
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_directory_without_a_model_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a model")
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        SentenceTransformerEmbedder(str(tmp_path))


def test_hash_embedder_meets_the_protocol() -> None:
    embedder = HashEmbedder(dimension=48)
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed_documents(["a", "b", "a"])
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert not np.allclose(embedder.embed_queries(["a"])[0], vectors[0])
