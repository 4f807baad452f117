"""How the default search's weights were chosen: a grid over the tuning half of every store shape.

Embeds each shape once (the memories without, the questions with the query
instruction, as the library does), scores every memory of the user lexically with
the library's own tokenizer and BM25, then ranks with :func:`agent_memory.search._fusion.fuse`
and the optional signals (:mod:`agent_memory.search._signals`, the library's own functions:
hubness against the user's mean memory, content, subject) for each combination of weights.
Only the ``tune`` split is read unless ``--split`` says otherwise: the ``report`` split is
for ``search_quality.py``'s figures.

    python benchmarks/tune_search.py --data ../shared/data/locomo                      # the fusion's weights
    python benchmarks/tune_search.py --data ../shared/data/locomo --signals --cache .cache/tune.pkl

BM25's own ``k1`` and ``b`` are Anserini's defaults (0.9, 0.4); on the tuning half
they beat Lucene's (1.2, 0.75) by about 2 points of LoCoMo turn recall and left the
other shapes unchanged. The cache holds lexical scores, so delete it after changing them.

Prints one line per combination (sorted by the mean of the shapes' main metrics,
each as a gain over dense search) and ends with one JSON object holding the best.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from search_quality import Store, default_model, load, metrics

from agent_memory import MemorySystem
from agent_memory.search._entities import subject_factors
from agent_memory.search._fusion import Weights, fuse
from agent_memory.search._lexical import LexicalIndex, tokenize
from agent_memory.search._signals import Centroid, SignalWeights, content_factors, content_terms, hubness_adjusted

MAIN_METRIC = {"locomo-turns": "recall@10", "locomo-observations": "recall@10", "facts": "hit@1", "facts-zh": "hit@1"}
WINDOW = 2


@dataclass
class Prepared:
    """One user's questions, with every memory's cosine and lexical score for each, and what the
    signals read: each memory's cosine to the user's mean memory, its terms, its text."""

    store: Store
    similarity: NDArray[np.float64]  # questions x memories
    lexical: NDArray[np.float64]
    neighbours: NDArray[np.intp]
    vectors: NDArray[np.float32]
    terms: NDArray[np.float64]
    others: NDArray[np.bool_] | None = None  # per question: memories about someone the query does not name
    shift: NDArray[np.float64] | None = None  # per memory: the hubness correction at weight 1


def neighbour_positions(sessions: list[str | None]) -> NDArray[np.intp]:
    members: dict[str, list[int]] = {}
    for i, session in enumerate(sessions):
        if session is not None:
            members.setdefault(session, []).append(i)
    offsets = [d for d in range(-WINDOW, WINDOW + 1) if d]
    out = np.full((len(sessions), len(offsets)), -1, dtype=np.intp)
    for group in members.values():
        for position, i in enumerate(group):
            for column, offset in enumerate(offsets):
                if 0 <= position + offset < len(group):
                    out[i, column] = group[position + offset]
    return out


def prepare(memory: MemorySystem, store: Store) -> Prepared:
    docs = memory.embedder.embed_documents([item.text for item in store.items])
    queries = memory.embedder.embed_queries([q.text for q in store.questions], memory.task)
    index = LexicalIndex()
    for item in store.items:
        index.add(tokenize(item.text))
    lexical = np.zeros((len(store.questions), len(store.items)))
    for row, question in enumerate(store.questions):
        slots, scores = index.scores(tokenize(question.text))
        lexical[row, slots] = scores
    similarity = np.asarray(queries @ docs.T, dtype=np.float64)
    counted = [content_terms(item.text, tokenize(item.text)) for item in store.items]
    terms = np.array([np.nan if c is None else c for c in counted], dtype=np.float64)
    neighbours = neighbour_positions([item.session for item in store.items])
    return Prepared(store, similarity, lexical, neighbours, np.asarray(docs, dtype=np.float32), terms)


def evaluate(
    prepared: list[Prepared], weights: Weights | None, signals: SignalWeights | None = None
) -> dict[str, float]:
    """Mean metrics of dense search (``weights=None``), or of the fusion with these signal weights
    (each applied as the library applies it; ``None``: no signal)."""
    rows = []
    for p in prepared:
        centroid = Centroid.of(p.vectors, len(p.vectors))
        for row, question in enumerate(p.store.questions):
            if weights is None:
                scores = p.similarity[row]
            elif signals is None:
                scores = fuse(p.similarity[row], p.lexical[row], p.neighbours, weights)
            else:
                scores = _signalled(p, row, weights, signals, centroid)
            order = np.argsort(-scores, kind="stable")[:10]
            rows.append(metrics([p.store.items[i].key for i in order], question.relevant))
    return {m: statistics.fmean(r[m] for r in rows) for m in rows[0]}


def _signalled(
    p: Prepared, row: int, weights: Weights, signals: SignalWeights, centroid: Centroid | None
) -> NDArray[np.float64]:
    """The library's signals, their weight-free parts computed once per store (they are linear in
    their weights): hubness, then the fusion, then the content and subject factors."""
    if p.shift is None or p.others is None:
        p.shift = hubness_adjusted(np.zeros(len(p.vectors)), list(p.vectors), centroid, 1.0)
        texts = [item.text for item in p.store.items]
        p.others = np.array([subject_factors(q.text, texts, 1.0) == 0.0 for q in p.store.questions])
    scores = fuse(p.similarity[row] + signals.hubness * p.shift, p.lexical[row], p.neighbours, weights)
    lines = p.terms[~np.isnan(p.terms)]
    scores = scores * content_factors(p.terms, float(lines.mean()) if len(lines) else 0.0, signals)
    return scores * np.where(p.others[row], 1.0 - signals.subject, 1.0)


def _prepared(data: Path, split: str, cache: Path | None) -> dict[str, list[Prepared]]:
    if cache is not None and cache.exists():
        loaded: dict[str, list[Prepared]] = pickle.loads(cache.read_bytes())
        return loaded
    from vector_cache import DiskCachedEmbedder  # next to this script

    from agent_memory.embeddings import create_embedder

    memory = MemorySystem(embedder=DiskCachedEmbedder(create_embedder(default_model())), path=":memory:")
    shapes = {
        shape: [prepare(memory, s) for s in load(shape, data, None) if split in ("all", s.split)]
        for shape in MAIN_METRIC
    }
    if cache is not None:
        cache.write_bytes(pickle.dumps(shapes))
    return shapes


def grid_of(args: argparse.Namespace) -> itertools.product[tuple[float, float, float, float]]:
    return itertools.product(args.lexical, args.neighbour, args.evidence, args.far)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the LoCoMo directory")
    parser.add_argument("--split", default="tune")
    parser.add_argument("--lexical", type=float, nargs="+", default=[0.6, 0.75, 0.9])
    parser.add_argument("--neighbour", type=float, nargs="+", default=[0.0, 0.5, 0.7, 0.85])
    parser.add_argument("--evidence", type=float, nargs="+", default=[0.1, 0.15, 0.2])
    parser.add_argument("--far", type=float, nargs="+", default=[0.9, 0.95, 1.0])
    parser.add_argument("--cache", type=Path, help="keep the embedded shapes in this file between runs")
    parser.add_argument("--signals", action="store_true", help="grid the signals' weights (the fusion's: default)")
    parser.add_argument("--hubness", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3])
    parser.add_argument("--content", type=float, nargs="+", default=[0.0, 0.1, 0.15, 0.2, 0.3])
    parser.add_argument("--content-scale", type=float, nargs="+", default=[0.5, 0.75])
    parser.add_argument("--subject", type=float, nargs="+", default=[0.0, 0.05, 0.1, 0.15])
    args = parser.parse_args(argv)
    shapes = _prepared(args.data, args.split, args.cache)
    dense = {shape: evaluate(p, None)[MAIN_METRIC[shape]] for shape, p in shapes.items()}
    print("dense:", {k: round(v, 4) for k, v in dense.items()}, file=sys.stderr)
    results: list[tuple[float, object, dict[str, float]]] = []
    if args.signals:
        for values in itertools.product(args.hubness, args.content, args.content_scale, args.subject):
            signals = SignalWeights(*values)
            got = {shape: evaluate(p, Weights(), signals)[MAIN_METRIC[shape]] for shape, p in shapes.items()}
            results.append((statistics.fmean(got[s] - dense[s] for s in got), signals, got))
    for lexical, neighbour, evidence, far in () if args.signals else grid_of(args):
        weights = Weights(lexical, neighbour, evidence, far)
        got = {shape: evaluate(p, weights)[MAIN_METRIC[shape]] for shape, p in shapes.items()}
        gain = statistics.fmean(got[s] - dense[s] for s in got)
        results.append((gain, weights, got))
    results.sort(key=lambda r: -r[0])
    for gain, weights, got in results[:25]:
        print(f"{gain:+.4f} {weights} { ({k: round(v, 4) for k, v in got.items()}) }", file=sys.stderr)
    best = results[0]
    print(json.dumps({"split": args.split, "dense": dense, "best": vars(best[1]), "scores": best[2]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
