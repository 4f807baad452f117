"""The default search's signals beyond words and vectors: whom a memory is about (subject), how much
it says (content), how typical of the user it is (hubness); each by its rule, each optional."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from agent_memory import InvalidTypeError, MemorySystem, ValidationError
from agent_memory.search._entities import query_subjects, subject, subject_factors
from agent_memory.search._lexical import tokenize
from agent_memory.search._signals import (
    DEFAULT_SIGNALS,
    SIGNALS,
    Centroid,
    SignalWeights,
    check_signals,
    content_factors,
    content_terms,
    hubness_adjusted,
    stale,
)
from agent_memory.testing import ConstantEmbedder, HashEmbedder


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Melanie: I painted a sunset last week", "melanie"),
        ("Dr Smith: take two a day", "dr smith"),
        ("王芳：我今天很忙", "王芳"),
        ("Alice lives in Porto", "alice"),
        ("Caroline's sister moved to Oslo", "caroline"),
        ("The user likes green tea", None),
        ("Yesterday I went hiking", None),
        ("I love pottery", None),
        ("lives in Porto", None),
        ("李娜是一名儿科医生", "李娜"),
        ("张小明对牛奶过敏", "张小"),
        ("欧阳修是诗人", "欧阳修"),
        ("我喜欢喝咖啡", None),
    ],
)
def test_a_memorys_subject_is_its_speaker_or_its_leading_name(text: str, expected: str | None) -> None:
    assert subject(text) == expected


def test_the_query_names_a_subject_as_a_capitalised_word_or_a_chinese_name() -> None:
    subjects = ["melanie", "caroline", None, "王芳"]
    assert query_subjects("What does Melanie like?", subjects) == {"melanie"}
    assert query_subjects("what does melanie like?", subjects) == set()  # lower case names no one
    assert query_subjects("Did Melanie and Caroline both paint?", subjects) == {"melanie", "caroline"}
    assert query_subjects("王芳是做什么工作的？", subjects) == {"王芳"}
    assert query_subjects("What is Bob's job?", subjects) == set()


def test_only_memories_about_someone_else_lose_and_only_when_the_query_names_someone() -> None:
    texts = ["Melanie: I love pottery", "Caroline: I love pottery", "I love pottery", "Melanie's kids love dinosaurs"]
    np.testing.assert_allclose(subject_factors("What does Melanie love?", texts, 0.1), [1, 0.9, 1, 1])
    np.testing.assert_allclose(subject_factors("What does Bob love?", texts, 0.1), [1, 1, 1, 1])
    np.testing.assert_allclose(subject_factors("What does Melanie love?", texts, 0.0), [1, 1, 1, 1])
    facts = ["Maya is vegan", "Maya works nights", "Maya has a dog"]  # every fact names the user: no change
    np.testing.assert_allclose(subject_factors("Does Maya have pets?", facts, 0.1), [1, 1, 1])
    zh = ["张伟在杭州工作", "李娜是一名医生", "张小明对牛奶过敏"]
    np.testing.assert_allclose(subject_factors("给张小明准备早餐要注意什么？", zh, 0.1), [0.9, 0.9, 1])


def test_questions_a_transcript_line_asks_are_not_content_and_facts_are_not_counted() -> None:
    text = "Caroline: Cool! What did it look like?"
    assert content_terms(text, tokenize(text)) == len(tokenize("Caroline: Cool!")) == 2
    line = "Melanie: We moved to Lisbon last spring"
    assert content_terms(line, tokenize(line)) == len(tokenize(line))
    zh = "王芳：你去过哪里？我去过北京。"
    assert content_terms(zh, tokenize(zh)) == len(tokenize("王芳：我去过北京。"))
    fact = "Maya is vegan"  # concise by design: not a transcript line, never counted
    assert content_terms(fact, tokenize(fact)) is None


def test_content_takes_at_most_its_weight_and_less_from_fuller_memories() -> None:
    weights = SignalWeights(content=0.15, content_scale=0.5)
    factors = content_factors(np.array([0.0, 2.0, 10.0, 40.0]), 10.0, weights)
    assert factors[0] == pytest.approx(0.85)
    assert np.all(np.diff(factors) > 0) and factors[-1] < 1.0
    np.testing.assert_allclose(factors[2], 1 - 0.15 * np.exp(-2.0))
    np.testing.assert_allclose(content_factors(np.array([1.0]), 0.0, weights), [1.0])  # no lines: no signal
    np.testing.assert_allclose(content_factors(np.array([np.nan, 0.0]), 10.0, weights), [1.0, 0.85])  # not a line


def test_hubness_lowers_memories_near_the_users_average_and_cancels_out_over_them() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(40, 16)).astype(np.float32) + 2.0  # a shared direction, as real embeddings have
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    centroid = Centroid.of(vectors, len(vectors))
    assert centroid is not None and centroid.count == 40
    similarity = np.full(40, 0.5)
    adjusted = hubness_adjusted(similarity, list(vectors), centroid, 0.2)
    typical = vectors @ centroid.direction
    assert adjusted[np.argmax(typical)] == adjusted.min() and adjusted[np.argmin(typical)] == adjusted.max()
    assert adjusted.mean() == pytest.approx(0.5, abs=1e-6)  # over the memories it was read from: no change on average
    unknown = hubness_adjusted(similarity[:2], [None, vectors[0]], centroid, 0.2)
    assert unknown[0] == 0.5  # a vector not known: left as it is
    assert hubness_adjusted(similarity, list(vectors), None, 0.2) is similarity
    assert Centroid.of(np.zeros((0, 16), np.float32), 0) is None


def test_the_centroid_is_read_again_when_the_users_count_moves_by_a_fifth() -> None:
    vectors = np.eye(4, dtype=np.float32)
    centroid = Centroid.of(vectors, 100)
    assert stale(None, 3) and not stale(centroid, 100) and not stale(centroid, 120) and not stale(centroid, 80)
    assert stale(centroid, 121) and stale(centroid, 79)


def test_signals_are_named_and_checked() -> None:
    assert check_signals(None) == DEFAULT_SIGNALS == frozenset(SIGNALS)
    assert check_signals(()) == frozenset()
    assert check_signals(["subject"]) == {"subject"}
    with pytest.raises(ValidationError, match="unknown search signal"):
        check_signals(["subjects"])
    with pytest.raises(InvalidTypeError):
        check_signals("subject")


@pytest.fixture
def turns() -> Iterator[MemorySystem]:
    """Equal vectors: what ranks the memories is words and the signals alone."""
    with MemorySystem(embedder=ConstantEmbedder(32), path=":memory:") as system:
        system.store_memories(
            ["Melanie: I love pottery and painting", "Caroline: I love pottery and painting", "Caroline: Cool!"],
            user_id="u",
        )
        yield system


def test_the_subject_signal_scores_a_memory_about_someone_else_lower(turns: MemorySystem) -> None:
    query = "What does Melanie love, pottery?"
    plain = {h.text: h.score for h in turns.search_memory(query, user_id="u", top_k=3, signals=())}
    chosen = {h.text: h.score for h in turns.search_memory(query, user_id="u", top_k=3, signals=["subject"])}
    assert chosen["Melanie: I love pottery and painting"] == pytest.approx(
        plain["Melanie: I love pottery and painting"]
    )
    for text in ("Caroline: I love pottery and painting", "Caroline: Cool!"):
        assert chosen[text] == pytest.approx(0.9 * plain[text])


def test_the_content_signal_scores_a_memory_by_how_much_it_says(turns: MemorySystem) -> None:
    plain = {h.text: h.score for h in turns.search_memory("pottery", user_id="u", top_k=3, signals=())}
    chosen = {h.text: h.score for h in turns.search_memory("pottery", user_id="u", top_k=3, signals=["content"])}
    counts = {t: content_terms(t, tokenize(t)) for t in plain}
    mean = sum(counts.values()) / len(counts)
    for text, score in chosen.items():
        weights = SignalWeights()
        expected = 1 - weights.content * np.exp(-counts[text] / (weights.content_scale * mean))
        assert score == pytest.approx(plain[text] * expected)
    assert (
        chosen["Caroline: Cool!"] / plain["Caroline: Cool!"]
        < chosen["Caroline: I love pottery and painting"] / (plain["Caroline: I love pottery and painting"])
    )


def test_the_hubness_signal_uses_the_users_stored_vectors_and_keeps_the_cosine() -> None:
    texts = [f"note {i} about topic {i % 3}" for i in range(20)]
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as system:
        system.store_memories(texts, user_id="u")
        system.store_memories(["someone else's note"], user_id="v")
        hits = system.search_memory("unrelated words", user_id="u", top_k=20, signals=["hubness"])
        plain = {h.text: h for h in system.search_memory("unrelated words", user_id="u", top_k=20, signals=())}
        vectors = system.embedder.embed_documents(texts)  # only u's memories make u's average
        centroid = Centroid.of(vectors, len(vectors))
        assert centroid is not None
        for hit in hits:
            assert hit.similarity == pytest.approx(plain[hit.text].similarity, abs=1e-6)  # the cosine, unchanged
            typical = float(system.embedder.embed_documents([hit.text])[0] @ centroid.direction)
            expected = np.clip(hit.similarity - 0.2 * (typical - centroid.mean_cosine), 0.0, 1.0)
            assert hit.score == pytest.approx(float(expected), abs=1e-5)  # no word evidence: the adjusted cosine


def test_dense_search_ignores_the_signals() -> None:
    with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as system:
        system.store_memories(["Melanie: hi", "Caroline: hello there", "Cool!"], user_id="u")
        for signals in (None, ()):
            hits = system.search_memory("Melanie", user_id="u", top_k=3, mode="dense", signals=signals)
            assert all(h.score == pytest.approx(max(h.similarity, 0.0), abs=1e-6) for h in hits)
