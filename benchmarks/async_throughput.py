"""Concurrent searches from one event loop: ``AsyncMemorySystem`` against thread delegation, same run.

One ``chroma run`` holds ``--memories`` memories of ``--users`` users. From one
event loop, ``--concurrency`` searches are kept in flight for ``--seconds``, in
two ways, interleaved round by round:

* ``async``: ``await AsyncMemorySystem.search_memory(...)`` (its bounded pool);
* ``to_thread``: ``await asyncio.to_thread(memory.search_memory, ...)``, what the
  integrations did before (asyncio's default executor).

A ticker measures the event loop's lag (how late a 10 ms sleep wakes) meanwhile.
Reported per way: searches/s, p50/p99 latency, loop lag p50/p99; the throughput
ratio; one JSON line at the end. A cheap deterministic embedder keeps the model
out of the measurement.

    python benchmarks/async_throughput.py                    # 64 in flight, 3 rounds of 5 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable

from load import _chroma_server, _percentile

from agent_memory import AsyncMemorySystem, MemorySystem, SearchHit
from agent_memory._processes import stop_server
from agent_memory.testing import HashEmbedder

Search = Callable[[str, str], Awaitable[list[SearchHit]]]


async def _lag(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - started - 0.01) * 1000)


async def _round(search: Search, users: int, concurrency: int, seconds: float) -> dict[str, list[float]]:
    latencies: list[float] = []
    lags: list[float] = []
    stop = asyncio.Event()
    deadline = time.monotonic() + seconds

    async def client(i: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            started = time.perf_counter()
            await search(f"user-{(i + n) % users}", f"what about topic {n % 50}")
            latencies.append((time.perf_counter() - started) * 1000)

    ticker = asyncio.ensure_future(_lag(stop, lags))
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    stop.set()
    await ticker
    return {"latency_ms": latencies, "lag_ms": lags}


async def _compare(memory: MemorySystem, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    pool = AsyncMemorySystem(sync=memory, max_workers=args.max_workers)

    async def awaited(user: str, query: str) -> list[SearchHit]:
        return await pool.search_memory(query, user_id=user, top_k=5)

    async def threaded(user: str, query: str) -> list[SearchHit]:
        return await asyncio.to_thread(memory.search_memory, query, user_id=user, top_k=5)

    ways: dict[str, Search] = {"async": awaited, "to_thread": threaded}
    gathered: dict[str, dict[str, list[float]]] = {w: {"latency_ms": [], "lag_ms": []} for w in ways}
    seconds: dict[str, float] = dict.fromkeys(ways, 0.0)
    for _ in range(args.rounds):
        for way, search in ways.items():
            started = time.perf_counter()
            got = await _round(search, args.users, args.concurrency, args.seconds)
            seconds[way] += time.perf_counter() - started
            for k, v in got.items():
                gathered[way][k] += v
    await pool.aclose()
    return {
        way: {
            "searches_per_s": len(g["latency_ms"]) / seconds[way],
            "p50_ms": statistics.median(g["latency_ms"]),
            "p99_ms": _percentile(g["latency_ms"], 99),
            "lag_p50_ms": statistics.median(g["lag_ms"] or [0.0]),
            "lag_p99_ms": _percentile(g["lag_ms"], 99),
        }
        for way, g in gathered.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and way")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--memories", type=int, default=4000)
    parser.add_argument("--max-workers", type=int, default=None, help="AsyncMemorySystem's pool (default: its own)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        server, url = _chroma_server(f"{work}/db")
        try:
            with MemorySystem(embedder=HashEmbedder(384), chroma_url=url) as memory:
                per_user = args.memories // args.users
                for u in range(args.users):
                    texts = [f"user-{u} fact {i} about topic {i % 50}" for i in range(per_user)]
                    memory.store_memories(texts, user_id=f"user-{u}", progress=False)
                results = asyncio.run(_compare(memory, args))
        finally:
            stop_server(server)
    ratio = results["async"]["searches_per_s"] / results["to_thread"]["searches_per_s"]
    for way, row in results.items():
        cells = "  ".join(f"{k} {v:.1f}" for k, v in row.items())
        print(f"{way:9} {cells}", file=sys.stderr)
    print(f"async / to_thread throughput: {ratio:.2f}x", file=sys.stderr)
    summary = {"benchmark": "async_throughput", "concurrency": args.concurrency, "ratio": ratio, "results": results}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
