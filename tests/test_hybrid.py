"""Hybrid search (BM25 + dense + session neighbours): ranking, consistency with the store, scopes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_memory import ConfigurationError, InvalidTypeError, Memory, MemorySystem, Scope, ValidationError
from agent_memory._ids import new_id, now_ms
from agent_memory.search._hybrid import HybridIndex
from agent_memory.testing import ConstantEmbedder, HashEmbedder

FACTS = [
    "Alice moved to Lisbon last spring",
    "Alice has a dog called Biscuit",
    "Alice is allergic to peanuts",
    "Alice plays the cello on Sundays",
    "Alice works as a nurse at the city hospital",
]


@pytest.fixture
def lexical() -> Iterator[MemorySystem]:
    with MemorySystem(embedder=ConstantEmbedder(64), path=":memory:") as system:
        system.store_memories(FACTS, user_id="alice")
        yield system


@pytest.fixture
def hashed() -> Iterator[MemorySystem]:
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as system:
        system.store_memories(FACTS, user_id="alice")
        system.store_memories(["Bob moved to Lisbon too"], user_id="bob")
        yield system


def test_exact_terms_find_the_memory_that_vectors_alone_miss(lexical: MemorySystem) -> None:
    for word, expected in [("Lisbon", FACTS[0]), ("Biscuit", FACTS[1]), ("peanut", FACTS[2]), ("hospitals", FACTS[4])]:
        hits = lexical.search_memory(f"where is {word}?", user_id="alice", top_k=1)
        assert hits[0].text == expected  # stemmed ("peanut", "hospitals") and stopwords ("where", "is") ignored
    dense = lexical.search_memory("Biscuit", user_id="alice", top_k=5, mode="dense")
    assert len({h.score for h in dense}) == 1  # the vectors cannot tell them apart


def test_hybrid_hits_carry_the_cosine_similarity(hashed: MemorySystem) -> None:
    hits = hashed.search_memory("Lisbon", user_id="alice", top_k=5)
    query = hashed.embedder.embed_queries(["Lisbon"], hashed.task)[0]
    expected = hashed.embedder.embed_documents([h.text for h in hits]) @ query
    np.testing.assert_allclose([h.similarity for h in hits], expected, atol=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    kept = hashed.search_memory("Lisbon", user_id="alice", top_k=5, min_score=float(np.median(expected)))
    assert all(h.similarity >= np.median(expected) for h in kept) and 0 < len(kept) < 5


def test_the_index_follows_updates_deletes_and_writes_it_did_not_see(hashed: MemorySystem) -> None:
    lisbon = hashed.search_memory("Lisbon", user_id="alice", top_k=1)[0].memory
    hashed.update_memory(lisbon.id, user_id="alice", text="Alice moved to Porto last spring")
    assert hashed.search_memory("Porto", user_id="alice", top_k=1)[0].memory.id == lisbon.id
    assert all("Lisbon" not in h.text for h in hashed.search_memory("Lisbon", user_id="alice", top_k=5))
    hashed.delete_memory(lisbon.id, user_id="alice")
    assert lisbon.id not in {h.memory.id for h in hashed.search_memory("Porto", user_id="alice", top_k=5)}


def test_a_write_straight_to_a_shared_store_is_seen_through_its_change_feed(chroma_server: str) -> None:
    """On a Chroma server another process may write: its store records the change, and the
    next search here applies it (an embedded store is this process's alone)."""
    with MemorySystem(embedder=HashEmbedder(64), chroma_url=chroma_server, collection="feed-direct") as system:
        system.store_memories(FACTS, user_id="alice")
        assert system.search_memory("Lisbon", user_id="alice", top_k=1)[0].text == FACTS[0]
        outside = Memory.create("Alice bought a kayak", Scope.of("alice"), {}, created_at=now_ms())
        system.store._add([outside], system.embedder.embed_documents([outside.text]))  # not through this index
        assert system.search_memory("kayak", user_id="alice", top_k=1)[0].memory.id == outside.id


def test_scopes_and_filters_narrow_hybrid_results() -> None:
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as system:
        system.store_memory("Lisbon trip in May", user_id="alice", agent_id="travel", metadata={"year": 2024})
        system.store_memory("Lisbon trip in June", user_id="alice", agent_id="travel", metadata={"year": 2025})
        system.store_memory("Lisbon restaurant list", user_id="alice", agent_id="food")
        system.store_memory("Lisbon flat", user_id="bob")
        texts = lambda **kw: {h.text for h in system.search_memory("Lisbon", user_id="alice", top_k=10, **kw)}  # noqa: E731
        assert texts() == {"Lisbon trip in May", "Lisbon trip in June", "Lisbon restaurant list"}
        assert texts(agent_id="food") == {"Lisbon restaurant list"}
        assert texts(filters={"year": {"$gte": 2025}}) == {"Lisbon trip in June"}
        assert texts(agent_id="food", filters={"year": 2024}) == set()


def test_turns_near_the_matching_turn_of_their_session_rise() -> None:
    turns = ["What did you do on Saturday?", "Went up the mountain", "With my sister", "Nice.", "Anything else?"]
    others = [f"Unrelated note number {i}" for i in range(20)]
    with MemorySystem(embedder=ConstantEmbedder(64), path=":memory:") as system:
        system.store_memories(others, user_id="u", session_id="other")
        system.store_memories(turns, user_id="u", session_id="s1")
        system.store_memories(turns, user_id="u")  # the same turns outside any session: no neighbours
        # the fusion alone: the content signal would rightly count the question turn's words for nothing
        ranked = system.search_memory("What did you do on Saturday?", user_id="u", top_k=60, signals=())
    score = {(h.text, h.memory.session_id): h.score for h in ranked}
    assert [h.text for h in ranked if h.memory.session_id == "s1"][:3] == turns[:3]
    for near in turns[1:3]:  # one and two turns after the match
        assert score[(near, "s1")] > score[(near, None)]
    assert score[(turns[3], "s1")] == pytest.approx(score[(turns[3], None)])  # three turns away: no share, no penalty


def test_ids_sort_in_creation_order_whatever_the_clock_says() -> None:
    with MemorySystem(embedder=HashEmbedder(16), path=":memory:") as system:
        stored = system.store_memories([f"turn {i}" for i in range(500)], user_id="u", progress=False)
    assert [m.id for m in stored] == sorted(m.id for m in stored)
    now = now_ms()
    ids = [new_id(now) for _ in range(5000)] + [new_id(now - timedelta(seconds=1)) for _ in range(3)]
    assert ids == sorted(ids)  # past a millisecond's counter, and with a clock that stepped back
    late = Memory.create("late", Scope.of("u"), created_at=now - timedelta(seconds=1))
    with MemorySystem(embedder=HashEmbedder(16), path=":memory:") as system:
        system.store._add([late], system.embedder.embed_documents(["late"]))
        assert system.get_memory(late.id, user_id="u") == late  # its true time is kept beside the id


def test_private_stores_never_share_an_index() -> None:
    with (
        MemorySystem(embedder=ConstantEmbedder(16), path=":memory:") as first,
        MemorySystem(embedder=ConstantEmbedder(16), path=":memory:") as second,
    ):
        shared = Memory.create("Lisbon", Scope.of("u"), id="same-id")
        first.store._add([shared], first.embedder.embed_documents(["Lisbon"]))
        second.store._add([replace(shared, text="Porto")], second.embedder.embed_documents(["Porto"]))
        assert first.search_memory("Lisbon", user_id="u")[0].text == "Lisbon"
        assert second.search_memory("Lisbon", user_id="u")[0].text == "Porto"


def test_an_index_built_across_a_write_is_not_kept() -> None:
    """A search that read the store before a write finished must not leave its stale index behind."""

    class WriteDuringBuild:
        def __init__(self, inner: object, index: HybridIndex) -> None:
            self.inner, self.index, self.builds = inner, index, 0

        def _changes(self, user_id: str, cursor: object) -> object:
            return self.inner._changes(user_id, cursor)  # type: ignore[attr-defined]

        def _pages(self, scope: Scope) -> object:
            self.builds += 1
            taken = list(self.inner._pages(scope))  # type: ignore[attr-defined]
            self.index.apply(scope.user_id, put=[])  # another thread's write lands now
            return taken

    with MemorySystem(embedder=HashEmbedder(16), path=":memory:") as system:
        system.store_memory("a fact", user_id="u")
        index = HybridIndex()
        store = WriteDuringBuild(system.store, index)
        index.for_user(store, "u")
        index.for_user(store, "u")
    assert store.builds == 2  # the first build was dropped, not served


def test_bad_modes_are_rejected_before_anything_runs(hashed: MemorySystem) -> None:
    with pytest.raises(ValidationError, match="mode must be one of 'hybrid', 'dense'"):
        hashed.search_memory("x", user_id="alice", mode="sparse")
    with pytest.raises(InvalidTypeError, match="mode"):
        hashed.search_memory("x", user_id="alice", mode=1)  # type: ignore[arg-type]


def test_a_user_without_memories_or_words_gets_sensible_answers(hashed: MemorySystem) -> None:
    assert hashed.search_memory("Lisbon", user_id="nobody") == []
    hits = hashed.search_memory("the and of", user_id="alice", top_k=3)  # only stopwords: dense decides
    assert len(hits) == 3


def test_the_index_is_built_once_and_then_kept_up_to_date_in_place(hashed: MemorySystem) -> None:
    hashed.search_memory("Lisbon", user_id="alice")

    def no_rebuild(*args: object, **kwargs: object) -> object:
        raise AssertionError("the index was rebuilt from the store")

    hashed.store.pages = no_rebuild  # type: ignore[method-assign]
    kayak = hashed.store_memory("Alice bought a kayak", user_id="alice")
    assert hashed.search_memory("kayak", user_id="alice", top_k=1)[0].memory.id == kayak.id
    hashed.update_memory(kayak.id, user_id="alice", text="Alice bought a canoe")
    assert hashed.search_memory("canoe", user_id="alice", top_k=1)[0].memory.id == kayak.id
    hashed.delete_memory(kayak.id, user_id="alice")
    assert kayak.id not in {h.memory.id for h in hashed.search_memory("canoe", user_id="alice", top_k=10)}


def _planner_scores(other_agents_texts: list[str]) -> list[tuple[str, float, float]]:
    """What alice's planner sees for ``plannertoken zebra``, next to the writer agent's memories."""
    with MemorySystem(embedder=ConstantEmbedder(16), path=":memory:") as system:
        planner = ["plannertoken buy milk", "plannertoken call the bank", "plannertoken zebra crossing at noon"]
        system.store_memories(planner, user_id="alice", agent_id="planner")
        system.store_memories(other_agents_texts, user_id="alice", agent_id="writer")
        hits = system.search_memory("plannertoken zebra", user_id="alice", agent_id="planner", top_k=5)
        return [(h.memory.text, h.score, h.similarity) for h in hits]


def test_an_agents_scores_say_nothing_of_another_agents_words() -> None:
    """Found by a hostile client: a planner key searched ``plannertoken <word>`` and read from the score
    whether ``<word>`` was in any other agent's memory (.521 if it was, .425 if not), word by word.
    The word statistics of a search narrowed to an agent are that agent's alone."""
    without = _planner_scores(["a quiet morning", "the garden needs water", "lunch with Carol"])
    with_word = _planner_scores(["a zebra at the zoo", "the garden needs water", "zebra stripes and zebra foals"])
    assert without == with_word
    assert without[0][0] == "plannertoken zebra crossing at noon" and without[0][1] > without[1][1]


def test_the_whole_users_search_still_uses_every_memory_for_its_statistics() -> None:
    """Without an agent or session, every memory of the user is visible, and counts (the control)."""
    scores = []
    for others in (["a quiet morning", "lunch with Carol"], ["a zebra at the zoo", "zebra foals"]):
        with MemorySystem(embedder=ConstantEmbedder(16), path=":memory:") as system:
            system.store_memories(["plannertoken zebra crossing at noon", "plannertoken buy milk"], user_id="alice")
            system.store_memories(others, user_id="alice", agent_id="writer")
            hits = system.search_memory("plannertoken zebra", user_id="alice", top_k=5)
            scores.append([h.score for h in hits if h.memory.text == "plannertoken buy milk"])
    assert scores[0] != scores[1]


_OTHER_PROCESS = """
import sys
from agent_memory import MemorySystem
from agent_memory.testing import HashEmbedder
options = {"path": sys.argv[1]} if sys.argv[1] != "-" else {"chroma_url": sys.argv[2], "collection": sys.argv[3]}
with MemorySystem(embedder=HashEmbedder(64), **options) as memory:
    if sys.argv[4] == "write":
        memory.store_memory("zebra crossing downtown", user_id="alice")
    else:
        print(memory.search_memory("zebra crossing", user_id="alice", top_k=1)[0].score)
"""


@pytest.mark.parametrize("where", ["embedded", "server"])
def test_an_index_reopened_after_another_process_wrote_is_current(where: str, tmp_path: Path, request: Any) -> None:
    """Found by a new maintainer: open a store, search, close; another process adds "zebra crossing
    downtown"; reopen in the first process: the kept index did not know the memory (0.018 against 0.75
    with HashEmbedder). The last system to close a collection drops its index."""
    if where == "embedded":
        options: dict[str, str] = {"path": str(tmp_path / "db")}
        argv = [options["path"], "", ""]
    else:
        options = {"chroma_url": request.getfixturevalue("chroma_server"), "collection": f"t-{uuid.uuid4().hex}"}
        argv = ["-", options["chroma_url"], options["collection"]]
    with MemorySystem(embedder=HashEmbedder(64), **options) as memory:
        memory.store_memories(["Alice likes tea", "Alice walks to work"], user_id="alice")
        memory.search_memory("zebra crossing", user_id="alice")  # builds the user's index
    other = [sys.executable, "-c", _OTHER_PROCESS, *argv]
    subprocess.run([*other, "write"], check=True, timeout=120)
    with MemorySystem(embedder=HashEmbedder(64), **options) as memory:
        hit = memory.search_memory("zebra crossing", user_id="alice", top_k=1)[0]
    fresh = float(subprocess.run([*other, "read"], check=True, timeout=120, capture_output=True, text=True).stdout)
    assert hit.memory.text == "zebra crossing downtown" and hit.score == pytest.approx(fresh) and hit.score > 0.5


def test_a_shared_index_keeps_its_budget_while_open(tmp_path: Path) -> None:
    """Options passed to a shared index never change another system's: a second budget is refused."""
    path = str(tmp_path / "db")
    with MemorySystem(embedder=HashEmbedder(64), path=path, index_bytes=1_000_000) as first:
        with pytest.raises(ConfigurationError, match="index_bytes=1,000,000"):
            MemorySystem(embedder=HashEmbedder(64), path=path, index_bytes=2_000_000)
        with MemorySystem(embedder=HashEmbedder(64), path=path, index_bytes=1_000_000) as second:
            second.store_memory("Alice likes tea", user_id="alice")
        assert first.count() == 1  # the second closing left the first's parts in place
    with MemorySystem(embedder=HashEmbedder(64), path=path, index_bytes=2_000_000) as third:
        assert third.count() == 1  # once all are closed, a new budget is the index's own


class _WordsEmbedder(HashEmbedder):
    """A text's vector is the sum of its words' (pseudo-random) vectors: texts that share words are
    close, so that dense similarities, and the hubness signal that adjusts them, count in a score."""

    def embed_documents(self, texts: Any) -> Any:
        sums = [np.sum([self._vector(w) for w in t.lower().split()] or [self._vector(t)], axis=0) for t in texts]
        return np.stack([v / np.linalg.norm(v) for v in sums]).astype(np.float32)

    def embed_queries(self, queries: Any, task: str | None = None) -> Any:
        return self.embed_documents(queries)


def test_an_agents_scores_say_nothing_of_another_agents_lines_or_vectors() -> None:
    """The signals' statistics are the scope's too: the typical length of a transcript line ("content")
    is the agent's own, and the user's average vector ("hubness", which every memory of the user
    moves) is not used by a search narrowed to an agent."""

    def planner_scores(others: list[str]) -> list[tuple[str, float]]:
        with MemorySystem(embedder=_WordsEmbedder(32), path=":memory:") as system:
            lines = ["Alice: plannertoken buy milk", "Alice: plannertoken zebra crossing at noon today", "Bob: ok"]
            system.store_memories(lines, user_id="alice", agent_id="planner", session_id="s1")
            system.store_memories(others, user_id="alice", agent_id="writer", session_id="s2")
            hits = system.search_memory("plannertoken zebra", user_id="alice", agent_id="planner", top_k=5)
            return [(h.memory.text, h.score) for h in hits]

    short = planner_scores(["Carol: hi", "Dan: yes", "Carol: no"])
    long = planner_scores([f"Carol: {' '.join(f'word{i}' for i in range(40))} number {n}" for n in range(30)])
    assert short == long
