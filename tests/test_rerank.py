"""The Qwen3-Reranker stage against the model card's reference code, on a tiny random reranker."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from agent_memory import ConfigurationError, MemorySystem, ModelNotFoundError, Qwen3Reranker, Reranker
from agent_memory.testing import HashEmbedder, build_tiny_qwen3_reranker

INSTRUCTION = "Given a user query, retrieve relevant memories"
QUERY = "What does Alice drink?"
DOCUMENTS = [
    "Alice likes coffee",
    "Bob is allergic to peanuts and prefers tea. " * 30,
    "用户 Alice 喜欢喝咖啡",
    "",
    "yes no yes",
]


# --- reference code from the Qwen3-Reranker model card ------------------------------------
def reference_scores(
    model_path: str, instruction: str, query: str, documents: list[str], max_length: int
) -> list[float]:
    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    token_false_id = tokenizer.convert_tokens_to_ids("no")
    token_true_id = tokenizer.convert_tokens_to_ids("yes")
    prefix = (
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
        'provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
    )
    suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    prefix_tokens = tokenizer.encode(prefix, add_special_tokens=False)
    suffix_tokens = tokenizer.encode(suffix, add_special_tokens=False)

    def format_instruction(instruction: str, query: str, doc: str) -> str:
        return f"<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}"

    pairs = [format_instruction(instruction, query, doc) for doc in documents]
    inputs = tokenizer(
        pairs,
        padding=False,
        truncation="longest_first",
        return_attention_mask=False,
        max_length=max_length - len(prefix_tokens) - len(suffix_tokens),
    )
    for i, ele in enumerate(inputs["input_ids"]):
        inputs["input_ids"][i] = prefix_tokens + ele + suffix_tokens
    inputs = tokenizer.pad(inputs, padding=True, return_tensors="pt", max_length=max_length)
    with torch.no_grad():
        batch_scores = model(**inputs).logits[:, -1, :]
    true_vector = batch_scores[:, token_true_id]
    false_vector = batch_scores[:, token_false_id]
    batch_scores = torch.stack([false_vector, true_vector], dim=1)
    batch_scores = torch.nn.functional.log_softmax(batch_scores, dim=1)
    return batch_scores[:, 1].exp().tolist()  # type: ignore[no-any-return]


# -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_reranker(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_qwen3_reranker(tmp_path_factory.mktemp("models") / "tiny-qwen3-reranker"))


@pytest.mark.parametrize(("batch_size", "max_length"), [(16, 8192), (2, 8192), (3, 160)])  # 160: prompt + 39 tokens
def test_scores_equal_the_model_cards_reference_code(tiny_reranker: str, batch_size: int, max_length: int) -> None:
    reranker = Qwen3Reranker(tiny_reranker, device="cpu", batch_size=batch_size, max_length=max_length)
    expected = reference_scores(tiny_reranker, INSTRUCTION, QUERY, DOCUMENTS, max_length)
    assert reranker.rerank(QUERY, DOCUMENTS, INSTRUCTION) == pytest.approx(expected, abs=1e-5)
    assert all(0.0 < s < 1.0 for s in expected) and len(set(expected)) == len(expected)


def test_the_instruction_and_the_query_change_the_scores(tiny_reranker: str) -> None:
    reranker = Qwen3Reranker(tiny_reranker, device="cpu")
    base = reranker.rerank(QUERY, DOCUMENTS[:1], INSTRUCTION)
    assert reranker.rerank(QUERY, DOCUMENTS[:1], "Find the user's allergies") != pytest.approx(base, abs=1e-6)
    assert reranker.rerank("Where does Bob live?", DOCUMENTS[:1], INSTRUCTION) != pytest.approx(base, abs=1e-6)


class ReverseAlphabetical:
    """A :class:`Reranker` that prefers texts later in the alphabet, to see the stage at work."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str], str]] = []

    def rerank(self, query: str, texts: Sequence[str], instruction: str) -> list[float]:
        self.calls.append((query, list(texts), instruction))
        order = sorted(texts)
        return [order.index(t) / len(texts) for t in texts]


def test_search_reranks_the_first_stages_candidates() -> None:
    fake = ReverseAlphabetical()
    assert isinstance(fake, Reranker)
    texts = [f"memory {c}" for c in "kdqazm"]
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:", reranker=fake, rerank_candidates=4) as system:
        system.store_memories(texts, user_id="u")
        hits = system.search_memory("memory", user_id="u", top_k=2, task="Find it")
    (query, candidates, instruction) = fake.calls[0]
    assert (query, len(candidates), instruction) == ("memory", 4, "Find it")
    assert [h.text for h in hits] == sorted(candidates, reverse=True)[:2]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_reranker_by_name_runs_qwen3_reranker(tiny_reranker: str) -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:", reranker=tiny_reranker) as system:
        assert isinstance(system.reranker, Qwen3Reranker)
        system.store_memories(DOCUMENTS[:3], user_id="u")
        hits = system.search_memory(QUERY, user_id="u", top_k=3)
    scores = reference_scores(tiny_reranker, system.task, QUERY, DOCUMENTS[:3], 8192)
    expected = dict(zip(DOCUMENTS[:3], scores, strict=True))
    assert [h.score for h in hits] == pytest.approx([expected[h.text] for h in hits], abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_bad_rerankers_are_refused(tiny_qwen3: str) -> None:
    with pytest.raises(ConfigurationError, match="reranker"):
        MemorySystem(embedder=HashEmbedder(32), path=":memory:", reranker=42)  # type: ignore[arg-type]
    with pytest.raises(ModelNotFoundError, match="yes"):
        Qwen3Reranker(tiny_qwen3, device="cpu").rerank("q", ["d"], INSTRUCTION)  # an embedding model, no yes/no


def test_a_max_length_with_no_room_for_the_prompt_is_a_configuration_error(tiny_reranker: str) -> None:
    with pytest.raises(ConfigurationError, match="no room"):
        Qwen3Reranker(tiny_reranker, device="cpu", max_length=96).rerank("q", ["d"], INSTRUCTION)


def test_reranking_keeps_what_held_in_a_named_span_first() -> None:
    """The reranker orders each group; the memories a time-aware search found in the span stay first."""
    fake = ReverseAlphabetical()
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:", reranker=fake, rerank_candidates=10) as system:
        system.store_memories(["memory a", "memory b"], user_id="u", valid_from="2022-03-01T00:00:00Z")
        system.store_memories(["memory y", "memory z"], user_id="u", valid_from="2025-03-01T00:00:00Z")
        now = "2026-11-28T12:00:00Z"
        hits = system.search_memory("memory in 2022", user_id="u", top_k=4, now=now)
    assert [h.text for h in hits] == ["memory b", "memory a", "memory z", "memory y"]
    assert [h.time_range is not None for h in hits] == [True, True, False, False]
