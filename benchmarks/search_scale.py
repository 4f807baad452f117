"""How search cost grows with one user's store: raw Chroma, dense and hybrid search, before and after a write.

One user (the measured one) holds N memories, next to ``--other-users`` users of
``--other-size`` memories each, all in one embedded Chroma directory, embedded
with a cheap deterministic embedder (so the model is not what is measured). Each
size runs in a subprocess of its own, so that its peak RSS is its own. After the
ingest (timed: memories/s), a few warm-up searches per mode (the first hybrid
search builds the user's index), then, query by query and interleaved so that
the noise of a shared machine falls on all alike:

* ``floor``: the raw ``collection.query`` that a dense search comes down to, on
  the same Chroma collection, scoped by ``user_id``; only the query call is
  timed (the query vector is computed outside the timing);
* ``dense``: ``search_memory(mode="dense")``, embedding included (no query
  cache, so every search embeds; the cheap embedder takes microseconds);
* ``hybrid``: ``search_memory()`` as it is by default (hybrid, with every signal);
* ``fusion``: the hybrid search with no signal (``signals=()``: words, vectors, session
  neighbours), and ``hubness``, ``content``, ``subject``: with that one signal alone, so each
  signal's cost is its mode's time less ``fusion``'s;
* ``dense_after_write``, ``hybrid_after_write``: ``store_memory`` of a new text
  for the user (not timed), then one timed search in that mode: what a search
  costs when the user's store has just changed, as it has for an agent that
  writes and reads in turns.

The reads run in a random order per query; the two after-write steps come
after them, dense first, so that no plain read follows an unconsumed write.
Every query thus adds two memories to the measured user (``memories_at_end``).

    python benchmarks/search_scale.py                                  # 1k, 10k and 100k memories, 200 searches each
    python benchmarks/search_scale.py --sizes 1000 10000 --searches 100  # a quicker look

A table goes to stderr as the sizes finish; the last stdout line is one JSON
object: ``{"benchmark": "search_scale", "dim", "other_users", "other_size",
"searches", "top_k", "results": [...]}``, one result per size with
``memories``, ``memories_at_end``, ``ingest_per_s``, ``p50_ms`` and ``p95_ms``
(each with ``floor``, ``dense``, ``fusion``, ``hubness``, ``content``, ``subject``, ``hybrid``,
``dense_after_write``, ``hybrid_after_write``), ``ratios`` (``hybrid_vs_dense_p50``,
``hybrid_after_write_vs_dense_after_write_p50``, ``hybrid_vs_dense_p95``,
``hybrid_after_write_vs_dense_after_write_p95``, ``fusion_vs_dense_p50``),
``peak_rss_mib`` (the size's subprocess) and ``run_s`` (its wall time).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import chromadb

# store_overhead.py sits next to this script, and a script's own directory is first on sys.path
from store_overhead import WORDS, _percentile, _texts

from agent_memory import MemorySystem
from agent_memory.testing import HashEmbedder

TOP_K = 10
WARMUP = 5
USER = "measured-user"
SIGNALS = ("hubness", "content", "subject")
READS = ("floor", "dense", "fusion", *SIGNALS, "hybrid")
MODES = (*READS, "dense_after_write", "hybrid_after_write")


def _query(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=4))


def _timed_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _ingest(memory: MemorySystem, rng: random.Random, size: int, other_users: int, other_size: int) -> float:
    """Stores the other users' memories, then the measured user's; returns memories/s."""
    per_user = {f"other-{u:03d}": _texts(rng, other_size, f"other-{u:03d}") for u in range(other_users)}
    per_user[USER] = _texts(rng, size, USER)
    start = time.perf_counter()
    for user, texts in per_user.items():
        memory.store_memories(texts, user_id=user, progress=False)
    elapsed = time.perf_counter() - start
    total = sum(map(len, per_user.values()))
    assert memory.count() == total and memory.count(user_id=USER) == size
    return total / elapsed


class _Steps:
    """One timed step per mode, for one query."""

    def __init__(self, memory: MemorySystem, rng: random.Random) -> None:
        self.memory, self.rng, self.writes = memory, rng, 0
        self.collection: chromadb.Collection = memory.store._collection  # type: ignore[attr-defined]

    def run(self, mode: str, query: str) -> float:
        if mode == "floor":
            vectors = self.memory.embedder.embed_queries([query], self.memory.task)
            return _timed_ms(
                lambda: self.collection.query(query_embeddings=vectors, n_results=TOP_K, where={"user_id": USER})
            )
        search_mode = mode.removesuffix("_after_write")
        if mode != search_mode:
            self.writes += 1
            text = f"{USER} " + " ".join(self.rng.choices(WORDS, k=self.rng.randint(5, 14))) + f" new #{self.writes}"
            self.memory.store_memory(text, user_id=USER)
        signals = () if search_mode == "fusion" else (search_mode,) if search_mode in SIGNALS else None
        search_mode = "dense" if search_mode == "dense" else "hybrid"
        return _timed_ms(
            lambda: self.memory.search_memory(query, user_id=USER, top_k=TOP_K, mode=search_mode, signals=signals)
        )


def _measure(steps: _Steps, rng: random.Random, searches: int) -> dict[str, list[float]]:
    for _ in range(WARMUP):
        for mode in MODES:
            steps.run(mode, _query(rng))
    timings: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(searches):
        query = _query(rng)
        reads = list(READS)
        rng.shuffle(reads)
        for mode in (*reads, "dense_after_write", "hybrid_after_write"):  # no plain read after an unread write
            timings[mode].append(steps.run(mode, query))
    return timings


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def one_size(size: int, args: argparse.Namespace) -> dict[str, object]:
    """Everything for one size, in this process: ingest, warm-up, the interleaved measurements."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as path:
        memory = MemorySystem(embedder=HashEmbedder(args.dim), path=path, cache_size=0)
        ingest_per_s = _ingest(memory, rng, size, args.other_users, args.other_size)
        timings = _measure(_Steps(memory, rng), rng, args.searches)
        at_end = memory.count(user_id=USER)
        memory.close()
    p50 = {mode: statistics.median(values) for mode, values in timings.items()}
    p95 = {mode: _percentile(values, 95) for mode, values in timings.items()}
    return {
        "memories": size,
        "memories_at_end": at_end,
        "ingest_per_s": ingest_per_s,
        "p50_ms": p50,
        "p95_ms": p95,
        "ratios": {
            "hybrid_vs_dense_p50": _ratio(p50["hybrid"], p50["dense"]),
            "hybrid_after_write_vs_dense_after_write_p50": _ratio(p50["hybrid_after_write"], p50["dense_after_write"]),
            "hybrid_vs_dense_p95": _ratio(p95["hybrid"], p95["dense"]),
            "hybrid_after_write_vs_dense_after_write_p95": _ratio(p95["hybrid_after_write"], p95["dense_after_write"]),
            "fusion_vs_dense_p50": _ratio(p50["fusion"], p50["dense"]),
        },
        # KiB on Linux; a spawned process starts from its parent's peak, which here is only the imports
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_subprocess(size: int, args: argparse.Namespace) -> dict[str, object]:
    command = [sys.executable, __file__, "--one-size", str(size), "--other-users", str(args.other_users)]
    command += ["--other-size", str(args.other_size), "--searches", str(args.searches)]
    command += ["--dim", str(args.dim), "--seed", str(args.seed)]
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)  # stderr passes through
    row: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    row["run_s"] = time.perf_counter() - start
    return row


def _print_header() -> None:
    modes = " | ".join(MODES[1:]).replace("_", " ")
    print(
        f"| memories | ingest/s | floor p50 / p95 ms | {modes} | hybrid/dense p50 | "
        "after write: hybrid/dense p50 | hybrid/dense p95 | after write p95 | peak RSS MiB | run s |",
        file=sys.stderr,
    )
    print("|---" * (len(MODES) + 8) + "|", file=sys.stderr)


def _print_row(row: dict[str, object]) -> None:
    p50, p95, ratios = row["p50_ms"], row["p95_ms"], row["ratios"]
    cells = " | ".join(f"{p50[m]:.2f} / {p95[m]:.2f}" for m in MODES)  # type: ignore[index]
    print(
        f"| {row['memories']:,} | {row['ingest_per_s']:,.0f} | {cells} | "
        f"{ratios['hybrid_vs_dense_p50']:.2f}x | {ratios['hybrid_after_write_vs_dense_after_write_p50']:.2f}x | "  # type: ignore[index]
        f"{ratios['hybrid_vs_dense_p95']:.2f}x | {ratios['hybrid_after_write_vs_dense_after_write_p95']:.2f}x | "  # type: ignore[index]
        f"{row['peak_rss_mib']:,.0f} | {row['run_s']:.0f} |",
        file=sys.stderr,
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="measured user's")
    parser.add_argument("--other-users", type=int, default=10)
    parser.add_argument("--other-size", type=int, default=500, help="memories of each other user")
    parser.add_argument("--searches", type=int, default=200, help="queries per size (each measured in all modes)")
    parser.add_argument("--dim", type=int, default=1024, help="vector size of the cheap embedder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one-size", type=int, help=argparse.SUPPRESS)  # the per-size subprocess
    args = parser.parse_args()
    if args.one_size is not None:
        print(json.dumps(one_size(args.one_size, args)))
        return
    _print_header()
    rows = []
    for size in args.sizes:
        rows.append(_in_subprocess(size, args))
        _print_row(rows[-1])
    print(
        json.dumps(
            {
                "benchmark": "search_scale",
                "dim": args.dim,
                "other_users": args.other_users,
                "other_size": args.other_size,
                "searches": args.searches,
                "top_k": TOP_K,
                "results": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
