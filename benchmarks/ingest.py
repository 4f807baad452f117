"""Ingest rate of agent-memory against langchain-chroma's ``Chroma.add_texts``, same model, same run.

Both sides embed with the same embedder object (the peer through a LangChain
``Embeddings`` over it), write to their own embedded
Chroma directory, and get texts that neither has seen (so no embedding cache
helps). Two ways of writing, each run interleaved side by side so that the noise
of a shared machine falls on both alike:

* ``batch``: ``store_memories`` of ``--batch`` texts against one ``add_texts`` of them;
* ``single``: ``--single`` calls of ``store_memory`` against as many one-text ``add_texts``,
  alternating call by call; the rate is one over the median call.

What agent-memory does on top: the look-up of texts the scope already holds, the
history, and the search index. Reported: memories/s per side, the ratio
(agent-memory / peer, higher is better) per run and its median; one JSON line at the end.

    python benchmarks/ingest.py                       # MiniLM, 600 + 100 texts, 5 runs
    python benchmarks/ingest.py --batch 60 --single 10 --runs 1   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings
from search_quality import default_model

from agent_memory import MemorySystem

NAMES = ["Alice", "Bob", "Carol", "Dmitri", "Eun-ji", "Farah", "Gustavo", "Hana"]
VERBS = ["likes", "visited", "is learning", "bought", "cooked", "talked about", "plans to try", "gave away"]
THINGS = [
    "espresso", "a red bicycle", "the piano", "sushi in Lisbon", "a rescue dog", "marathon training",
    "her grandmother's recipe", "a camping trip", "the new job", "watercolour painting", "a broken phone",
    "the jazz festival", "gluten-free bread", "a night shift", "the chess club", "Portuguese lessons",
]  # fmt: skip


def texts(rng: random.Random, count: int, tag: str) -> list[str]:
    """``count`` short memory-like texts, unique to ``tag``."""
    return [
        f"{rng.choice(NAMES)} {rng.choice(VERBS)} {rng.choice(THINGS)} ({tag} {i}, week {rng.randint(1, 52)})"
        for i in range(count)
    ]


class SameEmbedder(Embeddings):
    """agent-memory's embedder as LangChain ``Embeddings``, so both sides run the very same model."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()  # type: ignore[no-any-return]


def _rate(write: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    write()
    return count / (time.perf_counter() - start)


def run_once(ours: MemorySystem, peer: object, rng: random.Random, batch: int, single: int, run: int) -> dict:
    mine, theirs = texts(rng, batch + single, f"ours-{run}"), texts(rng, batch + single, f"peer-{run}")
    rates = {
        "batch": {
            "agent_memory": _rate(lambda: ours.store_memories(mine[:batch], user_id="u", progress=False), batch),
            "langchain_chroma": _rate(
                lambda: peer.add_texts(theirs[:batch], metadatas=[{"user_id": "u"}] * batch), batch
            ),  # type: ignore[attr-defined]
        },
        "single": {"agent_memory": 0.0, "langchain_chroma": 0.0},
    }
    calls: dict[str, list[float]] = {"agent_memory": [], "langchain_chroma": []}
    for a, b in zip(mine[batch:], theirs[batch:], strict=True):
        start = time.perf_counter()
        ours.store_memory(a, user_id="u")
        calls["agent_memory"].append(time.perf_counter() - start)
        start = time.perf_counter()
        peer.add_texts([b], metadatas=[{"user_id": "u"}])  # type: ignore[attr-defined]
        calls["langchain_chroma"].append(time.perf_counter() - start)
    # The median call: one stalled call on a shared 2-core machine (seen: 0.5 s) would swamp a mean.
    rates["single"] = {side: 1.0 / statistics.median(seconds) for side, seconds in calls.items()}
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="embedding model (default: the all-MiniLM-L6-v2 package)")
    parser.add_argument("--batch", type=int, default=600)
    parser.add_argument("--single", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    model, rng = args.model or default_model(), random.Random(args.seed)
    runs = []
    with (
        tempfile.TemporaryDirectory() as ours_dir,
        tempfile.TemporaryDirectory() as peer_dir,
        MemorySystem(model, path=ours_dir) as ours,
    ):
        peer = Chroma(
            collection_name="peer",
            embedding_function=SameEmbedder(ours.embedder),
            persist_directory=peer_dir,
            collection_metadata={"hnsw:space": "cosine"},
        )
        ours.store_memory("warm-up", user_id="w")  # load weights and open the store before timing
        peer.add_texts(["warm-up"])
        for run in range(args.runs):
            runs.append(run_once(ours, peer, rng, args.batch, args.single, run))
            print(json.dumps(runs[-1]), file=sys.stderr)
    ratios = {way: [r[way]["agent_memory"] / r[way]["langchain_chroma"] for r in runs] for way in ("batch", "single")}
    summary = {way: {"ratios": values, "median_ratio": statistics.median(values)} for way, values in ratios.items()}
    for way, row in summary.items():
        print(f"{way}: agent-memory / langchain-chroma = {row['median_ratio']:.3f}x (runs: {row['ratios']})")
    print(
        json.dumps(
            {"benchmark": "ingest", "texts": {"batch": args.batch, "single": args.single}, "runs": runs, **summary}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
