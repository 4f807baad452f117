"""Concurrent agents on one store: a mixed add/search workload, embedded and on a Chroma server.

N worker threads each play one agent for a fixed time: 30% of its calls store a
memory for its user, 70% search that user's memories. Reported per mode:
operations/s, p50/p99 latency of each kind, errors (must be zero), and the counts
check (every memory whose store call returned is in the store, exactly once).
A cheap deterministic embedder keeps the model out of the measurement.

    python benchmarks/load.py --workers 4 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from agent_memory import MemorySystem
from agent_memory._processes import free_port, start_server, stop_server
from agent_memory.testing import HashEmbedder


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _agent(memory: MemorySystem, user: str, seconds: float, out: dict[str, object]) -> None:
    rng, stored, add_ms, search_ms, errors = random.Random(user), set(), [], [], []
    deadline, n = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        n += 1
        started = time.perf_counter()
        try:
            if rng.random() < 0.3:
                stored.add(memory.store_memory(f"{user} fact {n}", user_id=user).id)
                add_ms.append((time.perf_counter() - started) * 1000)
            else:
                memory.search_memory(f"what about fact {rng.randint(0, n)}", user_id=user, top_k=5)
                search_ms.append((time.perf_counter() - started) * 1000)
        except Exception as exc:  # noqa: BLE001 - counted and reported: the figure that must be zero
            errors.append(repr(exc))
    out.update(stored=stored, add_ms=add_ms, search_ms=search_ms, errors=errors)


def run(memory: MemorySystem, mode: str, workers: int, seconds: float) -> dict[str, object]:
    results: list[dict[str, object]] = [{} for _ in range(workers)]
    threads = [threading.Thread(target=_agent, args=(memory, f"user-{i}", seconds, results[i])) for i in range(workers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    adds = [x for r in results for x in r["add_ms"]]  # type: ignore[attr-defined]
    searches = [x for r in results for x in r["search_ms"]]  # type: ignore[attr-defined]
    errors = [x for r in results for x in r["errors"]]  # type: ignore[attr-defined]
    counts_ok = all(
        {m.id for m in memory.iter_memories(user_id=f"user-{i}")} == results[i]["stored"] for i in range(workers)
    )
    return {
        "mode": mode,
        "workers": workers,
        "ops_per_s": (len(adds) + len(searches)) / elapsed,
        "add_p50_ms": statistics.median(adds or [0.0]),
        "add_p99_ms": _percentile(adds, 99),
        "search_p50_ms": statistics.median(searches or [0.0]),
        "search_p99_ms": _percentile(searches, 99),
        "errors": len(errors),
        "counts_exact": counts_ok,
    }


def _chroma_server(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    command = [chroma, "run", "--path", directory, "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    return start_server(command, f"{url}/api/v2/heartbeat", timeout=60), url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as embedded, tempfile.TemporaryDirectory() as served:
        with MemorySystem(embedder=HashEmbedder(384), path=embedded) as memory:
            rows.append(run(memory, "embedded", args.workers, args.seconds))
        process, url = _chroma_server(served)
        try:
            with MemorySystem(embedder=HashEmbedder(384), chroma_url=url) as memory:
                rows.append(run(memory, "server", args.workers, args.seconds))
        finally:
            stop_server(process)
    print("| mode | workers | ops/s | add p50 / p99 ms | search p50 / p99 ms | errors | counts exact |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['workers']} | {r['ops_per_s']:.0f} | {r['add_p50_ms']:.1f} / {r['add_p99_ms']:.1f} "
            f"| {r['search_p50_ms']:.1f} / {r['search_p99_ms']:.1f} | {r['errors']} | {r['counts_exact']} |"
        )
    print(json.dumps({"benchmark": "load", "seconds": args.seconds, "results": rows}))


if __name__ == "__main__":
    main()
