"""Concurrent agents on one store: a mixed add/search workload, embedded and on a Chroma server.

N worker threads each play one agent for a fixed time: 30% of its calls (``--writes``) store
a memory for its user, the rest search that user's memories. Reported per mode:
operations/s, writes/s, p50/p99 latency of each kind, errors (must be zero), and the counts
check (every memory whose store call returned is in the store, exactly once). A cheap
deterministic embedder keeps the model out of the measurement, unless ``--model`` names one
(a local path: then writers contend for the model, as they do in production).

``--baseline DIR`` compares another checkout of agent-memory (``git worktree add DIR REV``)
with this one in the same run: ``--rounds`` alternating rounds of each, every round a
process of its own, reported as medians and the ratio of this checkout to the baseline.

    python benchmarks/load.py --workers 4 --seconds 20
    python benchmarks/load.py --model "$MINILM" --modes embedded --baseline /tmp/before --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
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


def _agent(memory: MemorySystem, user: str, seconds: float, writes: float, out: dict[str, object]) -> None:
    rng, stored, add_ms, search_ms, errors = random.Random(user), set(), [], [], []
    deadline, n = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        n += 1
        started = time.perf_counter()
        try:
            if rng.random() < writes:
                stored.add(memory.store_memory(f"{user} fact {n}", user_id=user).id)
                add_ms.append((time.perf_counter() - started) * 1000)
            else:
                memory.search_memory(f"what about fact {rng.randint(0, n)}", user_id=user, top_k=5)
                search_ms.append((time.perf_counter() - started) * 1000)
        except Exception as exc:  # noqa: BLE001 - counted and reported: the figure that must be zero
            errors.append(repr(exc))
    out.update(stored=stored, add_ms=add_ms, search_ms=search_ms, errors=errors)


def run(memory: MemorySystem, mode: str, workers: int, seconds: float, writes: float = 0.3) -> dict[str, object]:
    results: list[dict[str, object]] = [{} for _ in range(workers)]
    threads = [
        threading.Thread(target=_agent, args=(memory, f"user-{i}", seconds, writes, results[i])) for i in range(workers)
    ]
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
        "writes_per_s": len(adds) / elapsed,
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


def _system(model: str | None, **where: str) -> MemorySystem:
    return MemorySystem(model, **where) if model else MemorySystem(embedder=HashEmbedder(384), **where)


def _measure(args: argparse.Namespace) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as embedded, tempfile.TemporaryDirectory() as served:
        if "embedded" in args.modes:
            with _system(args.model, path=embedded) as memory:
                memory.search_memory("warm-up", user_id="warm-up")  # the model loads outside the timing
                rows.append(run(memory, "embedded", args.workers, args.seconds, args.writes))
        if "server" in args.modes:
            process, url = _chroma_server(served)
            try:
                with _system(args.model, chroma_url=url) as memory:
                    memory.search_memory("warm-up", user_id="warm-up")
                    rows.append(run(memory, "server", args.workers, args.seconds, args.writes))
            finally:
                stop_server(process)
    return rows


def _compare(args: argparse.Namespace) -> None:
    """Alternating rounds of the baseline checkout and this one, each round in a process of its own."""
    here = str(Path(__file__).resolve().parents[1])
    argv = ["--workers", str(args.workers), "--seconds", str(args.seconds), "--writes", str(args.writes)]
    argv += ["--modes", ",".join(args.modes), *(["--model", args.model] if args.model else [])]
    runs: dict[str, list[list[dict[str, object]]]] = {"baseline": [], "this": []}
    for _ in range(args.rounds):
        for name, root in (("baseline", args.baseline), ("this", here)):
            command = [sys.executable, __file__, *argv, "--rows-only"]
            env = {**os.environ, "PYTHONPATH": root}
            done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| mode | metric | baseline (median) | this (median) | ratio |")
    print("|---|---|---|---|---|")
    summary = []
    for i, mode in enumerate(row["mode"] for row in runs["this"][0]):
        for metric in ("ops_per_s", "writes_per_s", "add_p50_ms", "search_p50_ms"):
            before = statistics.median(float(r[i][metric]) for r in runs["baseline"])  # type: ignore[arg-type]
            after = statistics.median(float(r[i][metric]) for r in runs["this"])  # type: ignore[arg-type]
            print(f"| {mode} | {metric} | {before:.1f} | {after:.1f} | {after / before:.2f}x |")
            summary.append({"mode": mode, "metric": metric, "baseline": before, "this": after})
    errors = sum(int(row["errors"]) for rows in runs.values() for r in rows for row in r)  # type: ignore[call-overload]
    exact = all(row["counts_exact"] for rows in runs.values() for r in rows for row in r)
    print(
        json.dumps({"benchmark": "load", "compare": summary, "rounds": args.rounds, "errors": errors, "exact": exact})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writes", type=float, default=0.3, help="the share of calls that store (default 0.3)")
    parser.add_argument("--model", help="a local embedding model (default: a hash embedder, no model time)")
    parser.add_argument("--modes", default="embedded,server", help="embedded, server, or both (comma-separated)")
    parser.add_argument("--baseline", help="another agent-memory checkout to compare with, in the same run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each, with --baseline")
    parser.add_argument("--rows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.baseline:
        _compare(args)
        return
    rows = _measure(args)
    if args.rows_only:
        print(json.dumps(rows))
        return
    print("| mode | workers | ops/s | writes/s | add p50 / p99 ms | search p50 / p99 ms | errors | counts exact |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['workers']} | {r['ops_per_s']:.0f} | {r['writes_per_s']:.0f} "
            f"| {r['add_p50_ms']:.1f} / {r['add_p99_ms']:.1f} "
            f"| {r['search_p50_ms']:.1f} / {r['search_p99_ms']:.1f} | {r['errors']} | {r['counts_exact']} |"
        )
    print(json.dumps({"benchmark": "load", "seconds": args.seconds, "results": rows}))


if __name__ == "__main__":
    main()
