"""The HTTP service under load: concurrent clients on ``agent-memory serve`` against the Python API, same run.

One ``chroma run`` holds the memories. The service (``create_app``, as ``serve``
builds it, in a process of its own on uvicorn) and the in-process
``AsyncMemorySystem`` each get ``--clients`` concurrent clients for ``--seconds``,
one user (and one API key) per client, doing a mixed workload: 30% store, 60%
search, 10% update or delete one of the client's memories. The service's clients
are ``httpx.AsyncClient``s. A cheap deterministic embedder keeps the model out of
the measurement (this measures the service, not the model); with ``--model`` both
sides embed with it, and the service is ``agent-memory serve --workers N``.

Reported per side: operations/s, p50/p95/p99 per operation, errors (must be 0),
and whether every user's memories are exactly what its client's calls left.

    python benchmarks/serve_load.py --clients 16 --seconds 20
    python benchmarks/serve_load.py --model /path/to/all-MiniLM-L6-v2 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from load import _chroma_server, _percentile

from agent_memory import AsyncMemorySystem, MemorySystem
from agent_memory._processes import free_port, start_server, stop_server
from agent_memory.testing import HashEmbedder

DIM = 384
Op = Callable[[str, Any], Awaitable[Any]]


class Client:
    """One user's calls, through the service (``http``) or in process (``memory``)."""

    def __init__(self, user: str, http: httpx.AsyncClient | None, memory: AsyncMemorySystem | None) -> None:
        self.user, self.http, self.memory = user, http, memory

    async def store(self, text: str) -> str:
        if self.memory is not None:
            return (await self.memory.store_memory(text, user_id=self.user)).id
        answer = await self.http.post("/v1/memories", json={"text": text})  # type: ignore[union-attr]
        answer.raise_for_status()
        return str(answer.json()["memories"][0]["id"])

    async def search(self, query: str) -> None:
        if self.memory is not None:
            await self.memory.search_memory(query, user_id=self.user, top_k=5)
            return
        (await self.http.post("/v1/search", json={"query": query, "top_k": 5})).raise_for_status()  # type: ignore[union-attr]

    async def update(self, memory_id: str, text: str) -> None:
        if self.memory is not None:
            await self.memory.update_memory(memory_id, user_id=self.user, text=text)
            return
        (await self.http.patch(f"/v1/memories/{memory_id}", json={"text": text})).raise_for_status()  # type: ignore[union-attr]

    async def delete(self, memory_id: str) -> None:
        if self.memory is not None:
            await self.memory.delete_memory(memory_id, user_id=self.user)
            return
        (await self.http.delete(f"/v1/memories/{memory_id}")).raise_for_status()  # type: ignore[union-attr]


async def _play(client: Client, seconds: float, times: dict[str, list[float]], errors: list[str]) -> set[str]:
    rng, mine, n = random.Random(client.user), set[str](), 0
    deadline = time.monotonic() + seconds
    # Until the deadline, and past it until this client has stored and searched once: a short run on
    # a busy machine still measures both.
    overtime = 0
    while time.monotonic() < deadline or ((not mine or "search" not in times) and overtime < 10):
        n, roll, started = n + 1, rng.random(), time.perf_counter()
        if time.monotonic() >= deadline:
            overtime, roll = overtime + 1, 0.5  # a search (a store first, if none was stored)
        try:
            if roll < 0.3 or not mine:
                kind = "store"
                mine.add(await client.store(f"{client.user} fact {n} about {rng.choice(['tea', 'jazz', 'Porto'])}"))
            elif roll < 0.9:
                kind = "search"
                await client.search(f"what about {rng.choice(['tea', 'jazz', 'Porto'])} {rng.randint(0, n)}")
            elif roll < 0.95:
                kind = "update"
                await client.update(rng.choice(sorted(mine)), f"{client.user} changed fact {n}")
            else:
                kind = "delete"
                victim = rng.choice(sorted(mine))
                await client.delete(victim)
                mine.discard(victim)
            times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        except (httpx.HTTPError, Exception) as exc:  # noqa: BLE001 - counted: the figure that must be zero
            errors.append(repr(exc)[:200])
    return mine


async def _side(name: str, clients: list[Client], seconds: float, check: MemorySystem) -> dict[str, object]:
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    started = time.perf_counter()
    kept = await asyncio.gather(*(_play(c, seconds, times, errors) for c in clients))
    elapsed = time.perf_counter() - started
    exact = all(
        {m.id for m in check.iter_memories(user_id=c.user)} == ids for c, ids in zip(clients, kept, strict=True)
    )
    ops = {k: {"count": len(v), "p50": statistics.median(v), "p95": _percentile(v, 95), "p99": _percentile(v, 99)}
           for k, v in sorted(times.items())}  # fmt: skip
    return {"side": name, "ops_per_s": sum(len(v) for v in times.values()) / elapsed, "ops": ops,
            "errors": len(errors), "first_errors": errors[:3], "counts_exact": exact}  # fmt: skip


def serve_child(chroma_url: str, keys_path: str, port: int) -> None:
    """The service process: ``create_app`` over the Chroma server, on uvicorn, until stopped."""
    import uvicorn

    from agent_memory.auth._keys import KeyStore
    from agent_memory.server._app import ServiceSettings, create_app

    memory = MemorySystem(embedder=HashEmbedder(DIM), chroma_url=chroma_url, collection="served")
    settings = ServiceSettings(rate_per_second=0, embed_per_second=0)  # the load is the point: no limits
    uvicorn.run(create_app(memory, KeyStore(keys_path), settings=settings), host="127.0.0.1", port=port,
                log_level="warning", access_log=False)  # fmt: skip


async def _run(args: argparse.Namespace, chroma_url: str, keys: dict[str, str], port: int) -> list[dict[str, object]]:
    users = list(keys)
    rows = []
    with MemorySystem(**_embedding(args), chroma_url=chroma_url, collection="served") as check:
        limits = httpx.Limits(max_connections=len(users) + 4)
        https = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {keys[u]}"},
                                   limits=limits, timeout=60) for u in users]  # fmt: skip
        rows.append(await _side("service", [Client(u, h, None) for u, h in zip(users, https, strict=True)],
                                args.seconds, check))  # fmt: skip
        for h in https:
            await h.aclose()
    with MemorySystem(**_embedding(args), chroma_url=chroma_url, collection="in-process") as sync:
        memory = AsyncMemorySystem(sync=sync)
        rows.append(await _side("python-api", [Client(u, None, memory) for u in users], args.seconds, sync))
        await memory.aclose()
    return rows


def _embedding(args: argparse.Namespace) -> dict[str, Any]:
    """The cheap embedder, or the model (``--model``) that ``agent-memory serve`` also loads."""
    return {"model": args.model} if args.model else {"embedder": HashEmbedder(DIM)}


def _service_command(args: argparse.Namespace, chroma_url: str, keys_path: Path, port: int) -> list[str]:
    """``agent-memory serve --workers N`` with a model; the HashEmbedder service in a child otherwise."""
    if not args.model:
        return [sys.executable, __file__, "--serve-child", chroma_url, str(keys_path), str(port)]
    return [sys.executable, "-m", "agent_memory", "serve", "--model", args.model, "--workers", str(args.workers),
            "--chroma-url", chroma_url, "--collection", "served", "--keys", str(keys_path), "--port", str(port),
            "--rate", "0", "--embed-rate", "0"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--model", help="embed with this model, and run `agent-memory serve` (default: HashEmbedder)")
    parser.add_argument("--workers", type=int, default=2, help="serve's worker processes (with --model)")
    parser.add_argument("--serve-child", nargs=3, help=argparse.SUPPRESS)  # chroma url, keys file, port
    args = parser.parse_args(argv)
    if args.serve_child:
        serve_child(args.serve_child[0], args.serve_child[1], int(args.serve_child[2]))
        return 0
    from agent_memory.auth._keys import KeyStore

    with tempfile.TemporaryDirectory() as work:
        keys_path = Path(work) / "keys.jsonl"
        keys = {f"user-{i:02d}": KeyStore(keys_path).create(user_id=f"user-{i:02d}")[1] for i in range(args.clients)}
        port = free_port()
        db, chroma_url = _chroma_server(f"{work}/db")
        service = start_server(_service_command(args, chroma_url, keys_path, port),
                               f"http://127.0.0.1:{port}/v1/health", timeout=180)  # fmt: skip
        try:
            rows = asyncio.run(_run(args, chroma_url, keys, port))
        finally:
            stop_server(service)
            stop_server(db)
    for r in rows:
        cells = "  ".join(
            f"{k} p50/p95/p99 {v['p50']:.1f}/{v['p95']:.1f}/{v['p99']:.1f} ms" for k, v in r["ops"].items()
        )  # type: ignore[attr-defined]
        print(f"{r['side']:10} {r['ops_per_s']:.0f} ops/s  errors {r['errors']}  exact {r['counts_exact']}  {cells}",
              file=sys.stderr)  # fmt: skip
    setup = {
        "clients": args.clients,
        "seconds": args.seconds,
        "model": args.model,
        "workers": args.workers if args.model else 1,
    }
    print(json.dumps({"benchmark": "serve_load", **setup, "results": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
