"""What the default search promises: absolute scores in [0, 1], a ranking that degrades to dense search
without word evidence, ``min_score`` on ``score``, other processes' writes seen, one copy of a text
whoever writes it, and CJK words matched."""

from __future__ import annotations

import io
import json
import re
import statistics
import subprocess
import sys
import textwrap
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from agent_memory import MemorySystem
from agent_memory._transfer import parse_record
from agent_memory.cli._main import main
from agent_memory.testing import ConstantEmbedder, HashEmbedder

ALICE = [
    "Alice works as a nurse at the city hospital",
    "Alice is allergic to peanuts",
    "Alice has a dog called Biscuit",
    "Alice moved to Lisbon last spring",
    "Alice plays the cello on Sundays",
    "Alice's brother lives in Toronto",
]
QUESTIONS = [
    "What is Alice's job?",
    "What food is Alice allergic to?",
    "Does Alice have pets?",
    "What instrument does Alice play?",
    "Where does Alice's brother live?",
]


OFF_TOPIC = ["quantum physics", "What is the capital of Mongolia?", "stock market prices"]


@pytest.fixture(scope="module")
def alice(minilm: str) -> Iterator[MemorySystem]:
    with MemorySystem(minilm, path=":memory:") as system:
        system.store_memories(ALICE, user_id="alice")
        yield system


def test_a_question_finds_its_answer_not_the_shortest_memory(alice: MemorySystem) -> None:
    """Every fact holds "Alice": matching only the name must not outrank meaning."""
    hits = alice.search_memory("What is Alice's job?", user_id="alice")
    assert hits[0].text == "Alice works as a nurse at the city hospital"


def test_neighbours_without_word_evidence_lend_nothing(minilm: str) -> None:
    session = [
        "The football scores were disappointing",
        "Alice prefers espresso",
        "The weather was rainy",
        "Alice is reading a novel",
    ]
    loose = ["Alice has two cats", "Alice drives a red car"]
    with MemorySystem(minilm, path=":memory:") as system:
        system.store_memories(session, user_id="alice", session_id="s1")
        system.store_memories(loose, user_id="alice")
        # "coffee" is in no memory: no word evidence anywhere, so the fusion alone (no signals) is
        # the dense search.
        hybrid = system.search_memory("coffee", user_id="alice", top_k=6, signals=())
        dense = system.search_memory("coffee", user_id="alice", top_k=6, mode="dense")
        assert hybrid[0].text == "Alice prefers espresso"
        assert [h.text for h in hybrid] == [h.text for h in dense]
        for hit in hybrid:  # no session memory rises above its dense score on its neighbours' similarity
            assert hit.score == pytest.approx(max(hit.similarity, 0.0), abs=1e-6)
        rank = {h.text: i for i, h in enumerate(hybrid)}
        for text in ("The football scores were disappointing", "The weather was rainy"):
            assert rank["Alice prefers espresso"] < rank[text]

        # "espresso" is evidence: its session neighbours are pulled 0.7 of the way toward its
        # score, discounted by 0.95 for each place beyond the next one.
        hits = {h.text: h for h in system.search_memory("espresso", user_id="alice", top_k=6, signals=())}
        lender = hits["Alice prefers espresso"].score
        places = {
            "The football scores were disappointing": 1,
            "The weather was rainy": 1,
            "Alice is reading a novel": 2,
        }
        for text, away in places.items():
            own = max(hits[text].similarity, 0.0)
            lent = lender * 0.95 ** (away - 1)
            assert hits[text].score == pytest.approx(own + 0.7 * max(lent - own, 0.0), abs=1e-6)
            assert own < hits[text].score < lender
        for text in loose:  # outside the session: nothing lent
            assert hits[text].score == pytest.approx(max(hits[text].similarity, 0.0), abs=1e-6)


def test_a_lone_memory_gets_a_real_score(minilm: str) -> None:
    with MemorySystem(minilm, path=":memory:") as system:
        system.store_memory("Alice is a keen gardener who grows tomatoes", user_id="alice")
        related = system.search_memory("gardening", user_id="alice")[0].score
        off = system.search_memory("quantum physics", user_id="alice")[0].score
    assert 0 < related <= 1
    assert 0 <= off < related


@pytest.mark.parametrize(
    ("mode", "signals"), [("hybrid", None), ("hybrid", ()), ("dense", None)], ids=["default", "fusion", "dense"]
)
def test_scores_are_in_the_unit_interval(mode: str, signals: tuple[str, ...] | None) -> None:
    with MemorySystem(embedder=HashEmbedder(64), path=":memory:") as system:  # random vectors: negative cosines
        system.store_memories([f"note {i} about topic {i % 3}" for i in range(12)], user_id="u", session_id="s")
        system.store_memories(["Lisbon trip", "Porto wine", "topic notes"], user_id="u")
        for query in ["topic", "Lisbon", "nothing shared", "note 4"]:
            hits = system.search_memory(query, user_id="u", top_k=15, mode=mode, signals=signals)
            assert len(hits) == 15
            assert all(0.0 <= h.score <= 1.0 for h in hits)
            assert any(h.similarity < 0 for h in hits)  # so the clipping is exercised
            if mode == "dense":
                for h in hits:
                    assert h.score == pytest.approx(float(np.clip(h.similarity, 0.0, 1.0)), abs=1e-6)
            elif signals == ():
                assert all(h.score >= max(h.similarity, 0.0) - 1e-6 for h in hits)  # evidence only raises


def test_an_off_topic_query_scores_below_real_questions(alice: MemorySystem) -> None:
    tops = [alice.search_memory(q, user_id="alice")[0].score for q in QUESTIONS]
    median = statistics.median(tops)
    for query in OFF_TOPIC:
        best = alice.search_memory(query, user_id="alice")[0].score
        assert best < median
        assert best < 0.5 <= min(tops)  # one absolute threshold separates them, whatever the query


def _printed_scores(out: str) -> list[float]:
    return [float(m.group(1)) for m in re.finditer(r"^\s+\d+\. (-?\d+\.\d+)  ", out, re.MULTILINE)]


def test_min_score_filters_on_the_printed_score(minilm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "db")
    with MemorySystem(minilm, path=db) as system:
        system.store_memories(ALICE, user_id="alice")
    monkeypatch.setenv("AGENT_MEMORY_MODEL", minilm)
    for query in QUESTIONS:
        out = io.StringIO()
        assert (
            main(["search", query, "--user", "alice", "--path", db, "--top-k", "6", "--min-score", "0.3"], out=out) == 0
        )
        scores = _printed_scores(out.getvalue())
        assert scores, out.getvalue()
        assert all(s >= 0.3 for s in scores), out.getvalue()


def test_min_score_keeps_a_hit_by_score_not_by_cosine(minilm: str) -> None:
    with MemorySystem(minilm, path=":memory:") as system:
        system.store_memories(ALICE, user_id="alice")
        system.store_memory("Alice is a keen gardener who grows tomatoes", user_id="alice")
        everything = system.search_memory("tomatoes", user_id="alice", top_k=7)
        threshold = 0.6
        kept = system.search_memory("tomatoes", user_id="alice", top_k=7, min_score=threshold)
    assert [h.memory.id for h in kept] == [h.memory.id for h in everything if h.score >= threshold]
    assert all(h.score >= threshold for h in kept)
    tomatoes = kept[0]
    assert tomatoes.text == "Alice is a keen gardener who grows tomatoes"
    assert tomatoes.similarity < threshold <= tomatoes.score  # the word "tomatoes" raised it past the threshold


_OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from agent_memory import MemorySystem
    from agent_memory.testing import HashEmbedder

    url, collection, action, *args = sys.argv[1:]
    with MemorySystem(embedder=HashEmbedder(64), chroma_url=url, collection=collection) as system:
        if action == "update":
            system.update_memory(args[0], user_id="alice", text=args[1])
        elif action == "delete":
            assert system.delete_memory(args[0], user_id="alice")
        else:
            print(system.store_memory(args[0], user_id="alice").id)
    """
)


def _in_another_process(url: str, collection: str, *args: str) -> str:
    child = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, url, collection, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    return child.stdout.strip()


def test_another_process_writes_are_seen_on_a_server(chroma_server: str) -> None:
    collection = f"test-{uuid.uuid4().hex}"
    with MemorySystem(embedder=HashEmbedder(64), chroma_url=chroma_server, collection=collection) as system:
        stored = {m.text: m for m in system.store_memories(ALICE, user_id="alice")}
        moved, deleted = stored["Alice moved to Lisbon last spring"], stored["Alice plays the cello on Sundays"]
        assert system.search_memory("Lisbon", user_id="alice")[0].memory.id == moved.id  # the index is built

        # An update leaves the user's ids as they were: only the change feed tells this process.
        _in_another_process(chroma_server, collection, "update", moved.id, "Alice moved to Porto last spring")
        porto = system.search_memory("Porto", user_id="alice", top_k=10)
        assert porto[0].memory.id == moved.id
        assert porto[0].text == "Alice moved to Porto last spring"
        assert all("Lisbon" not in h.text for h in system.search_memory("Lisbon", user_id="alice", top_k=10))

        _in_another_process(chroma_server, collection, "delete", deleted.id)
        added = _in_another_process(chroma_server, collection, "add", "Alice bought a kayak")
        for query in ("cello Sundays", "Porto", "Lisbon", "kayak"):
            assert deleted.id not in {h.memory.id for h in system.search_memory(query, user_id="alice", top_k=10)}
        kayak = system.search_memory("kayak", user_id="alice", top_k=10)
        assert kayak[0].memory.id == added and kayak[0].text == "Alice bought a kayak"
        assert system.search_memory("Porto", user_id="alice")[0].text == "Alice moved to Porto last spring"


def test_import_and_store_memory_racing_store_a_text_once() -> None:
    texts = [f"fact number {i} about the user" for i in range(40)]
    records = [parse_record({"id": uuid.uuid4().hex, "text": t, "user_id": "u"}) for t in texts]
    for _ in range(5):  # a fresh store each round, so the race can fall either way
        with MemorySystem(embedder=HashEmbedder(32), path=":memory:") as system:
            start = threading.Barrier(2)

            def importer(system: MemorySystem = system, start: threading.Barrier = start) -> None:
                start.wait()
                system.import_memories(records, progress=False)

            def storer(system: MemorySystem = system, start: threading.Barrier = start) -> None:
                start.wait()
                for text in reversed(texts):
                    system.store_memory(text, user_id="u")

            with ThreadPoolExecutor(2) as pool:
                for future in [pool.submit(importer), pool.submit(storer)]:
                    future.result(timeout=120)
            counts = Counter(m.text for m in system.list_memories(user_id="u"))
            assert counts == Counter(texts), {t: n for t, n in counts.items() if n != 1}


def test_cjk_text_is_split_into_words() -> None:
    from agent_memory.search._lexical import tokenize

    chinese = tokenize("我喜欢喝咖啡，尤其是拿铁")
    assert "咖啡" in chinese and "拿铁" in chinese
    assert {"コー", "ヒー"} <= set(tokenize("私はコーヒーが好きです"))
    assert "東京" in tokenize("東京に住んでいます")
    assert "커피" in tokenize("나는 커피를 좋아해요")
    assert tokenize("hospitals") == tokenize("hospital")  # English is still stemmed
    assert "咖啡" in tokenize("Alice 喜欢喝咖啡") and tokenize("Alice")[0] in tokenize("Alice 喜欢喝咖啡")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("王芳喜欢喝什么咖啡？", "王芳每天早上都喝咖啡，最喜欢拿铁"),
        ("王芳对什么过敏？", "王芳对花生过敏"),
        ("王芳的哥哥住在哪里？", "王芳的哥哥住在多伦多"),
    ],
)
def test_a_chinese_question_finds_its_fact_by_its_words(query: str, expected: str) -> None:
    facts = [
        "王芳在上海的一家医院当护士",
        "王芳对花生过敏",
        "王芳养了一只叫饼干的狗",
        "王芳去年春天搬到了杭州",
        "王芳每个星期天都拉大提琴",
        "王芳的哥哥住在多伦多",
        "王芳每天早上都喝咖啡，最喜欢拿铁",
    ]
    with MemorySystem(embedder=ConstantEmbedder(64), path=":memory:") as system:  # only words can rank
        system.store_memories(facts, user_id="王芳")
        hits = system.search_memory(query, user_id="王芳")
    assert hits[0].text == expected
    assert hits[0].score > hits[1].score > 0  # raised by word evidence above the same cosine


def test_cli_search_json_scores_are_relevances(minilm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "db")
    with MemorySystem(minilm, path=db) as system:
        system.store_memories(ALICE, user_id="alice")
    monkeypatch.setenv("AGENT_MEMORY_MODEL", minilm)
    out = io.StringIO()
    assert main(["search", "quantum physics", "--user", "alice", "--path", db, "--top-k", "6", "--json"], out=out) == 0
    hits = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(hits) == 6 and all(0.0 <= h["score"] <= 0.5 for h in hits)
