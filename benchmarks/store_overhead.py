"""What agent-memory adds on top of Chroma: ingest throughput and search latency, side by side.

Both sides store the same texts with the same vectors (a cheap deterministic
embedder, so the model is not what is measured) in their own embedded Chroma
directory, and search with the same queries scoped to one user. The two are run
interleaved, user by user and query by query, so that the noise of a shared
machine falls on both alike. Reported: ingest memories/s, search p50/p99, and
the ratios (agent-memory / raw Chroma).

    python benchmarks/store_overhead.py                      # 10k and 100k memories, 100 users, 1,000 searches
    python benchmarks/store_overhead.py --sizes 2000 --searches 200   # a quick look
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field

import chromadb
from chromadb.config import Settings

from agent_memory import MemorySystem
from agent_memory.testing import HashEmbedder

WORDS = [
    "alice",
    "bob",
    "carol",
    "likes",
    "prefers",
    "coffee",
    "tea",
    "matcha",
    "dog",
    "cat",
    "lives",
    "works",
    "nurse",
    "teacher",
    "berlin",
    "lisbon",
    "tokyo",
    "marathon",
    "cello",
    "piano",
    "allergic",
    "peanuts",
    "gluten",
    "daughter",
    "son",
    "birthday",
    "march",
    "july",
    "vegetarian",
    "hiking",
    "sushi",
]


@dataclass
class Side:
    ingest_s: float = 0.0
    search_ms: list[float] = field(default_factory=list)


def _texts(rng: random.Random, count: int, user: str) -> list[str]:
    return [f"{user} " + " ".join(rng.choices(WORDS, k=rng.randint(5, 14))) + f" #{i}" for i in range(count)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _raw_collection(path: str) -> tuple[chromadb.ClientAPI, chromadb.Collection]:
    client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
    return client, client.get_or_create_collection(
        "memories", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )


def run(size: int, users: int, searches: int, dim: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    embedder = HashEmbedder(dim)
    per_user = {f"user-{u:03d}": _texts(rng, size // users, f"user-{u:03d}") for u in range(users)}
    ours, raw = Side(), Side()
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as raw_dir:
        memory = MemorySystem(embedder=embedder, path=ours_dir)
        client, collection = _raw_collection(raw_dir)
        batch = client.get_max_batch_size()
        for user, texts in per_user.items():
            start = time.perf_counter()
            memory.store_memories(texts, user_id=user, progress=False)
            ours.ingest_s += time.perf_counter() - start

            start = time.perf_counter()
            vectors = embedder.embed_documents(texts)
            for i in range(0, len(texts), batch):
                collection.add(
                    ids=[uuid.uuid4().hex for _ in texts[i : i + batch]],
                    embeddings=vectors[i : i + batch],
                    documents=texts[i : i + batch],
                    metadatas=[{"user_id": user} for _ in texts[i : i + batch]],
                )
            raw.ingest_s += time.perf_counter() - start
        assert memory.count() == collection.count() == sum(map(len, per_user.values()))

        names = list(per_user)
        same = 0
        for _ in range(searches):
            user = rng.choice(names)
            query = "what does " + " ".join(rng.choices(WORDS, k=4))
            start = time.perf_counter()
            hits = memory.search_memory(query, user_id=user, top_k=5)
            ours.search_ms.append((time.perf_counter() - start) * 1000)

            start = time.perf_counter()
            result = collection.query(
                query_embeddings=embedder.embed_queries([query]), n_results=5, where={"user_id": user}
            )
            raw.search_ms.append((time.perf_counter() - start) * 1000)
            same += [h.text for h in hits] == result["documents"][0]  # HNSW is approximate: may differ
        memory.close()
        client.close()

    total = sum(map(len, per_user.values()))
    row = {
        "memories": total,
        "users": users,
        "ingest_per_s": {"agent_memory": total / ours.ingest_s, "chromadb": total / raw.ingest_s},
        "search_p50_ms": {
            "agent_memory": statistics.median(ours.search_ms),
            "chromadb": statistics.median(raw.search_ms),
        },
        "same_top5_share": same / searches,
        "search_p99_ms": {"agent_memory": _percentile(ours.search_ms, 99), "chromadb": _percentile(raw.search_ms, 99)},
    }
    row["ingest_ratio"] = row["ingest_per_s"]["agent_memory"] / row["ingest_per_s"]["chromadb"]  # type: ignore[index]
    row["search_p50_ratio"] = row["search_p50_ms"]["agent_memory"] / row["search_p50_ms"]["chromadb"]  # type: ignore[index]
    return row


def _print_table(rows: list[dict[str, object]]) -> None:
    print(
        "| memories | ingest/s agent-memory | ingest/s chromadb | ratio | search p50 ms agent-memory | "
        "p50 chromadb | ratio | p99 agent-memory | p99 chromadb |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        i, p50, p99 = r["ingest_per_s"], r["search_p50_ms"], r["search_p99_ms"]
        print(
            f"| {r['memories']:,} | {i['agent_memory']:,.0f} | {i['chromadb']:,.0f} | {r['ingest_ratio']:.2f}x | "  # type: ignore[index]
            f"{p50['agent_memory']:.2f} | {p50['chromadb']:.2f} | {r['search_p50_ratio']:.2f}x | "  # type: ignore[index]
            f"{p99['agent_memory']:.2f} | {p99['chromadb']:.2f} |"
        )  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=384, help="vector size of the cheap embedder")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = [run(size, args.users, args.searches, args.dim, args.seed) for size in args.sizes]
    _print_table(rows)
    print(
        json.dumps(
            {"benchmark": "store_overhead", "targets": {"search_p50_ratio": 1.15, "ingest_ratio": 0.9}, "results": rows}
        )
    )


if __name__ == "__main__":
    main()
