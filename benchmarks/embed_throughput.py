"""Embedding throughput: agent-memory's transformers backend against sentence-transformers, in one run.

Builds a model with the real Qwen3-Embedding-0.6B (or 4B/8B) shapes and random
weights (speed does not depend on weight values; nothing is downloaded), embeds
the two workloads of ``../shared/notes/measurements.md`` through
sentence-transformers' ``encode`` (the peer, in the precision and attention it
gets from agent-memory on that device) and through our backend, checks that
their vectors agree, and prints tokens/s, texts/s, model FLOP utilisation (MFU,
against a matmul ceiling measured in the same run) and the ratio to the peer.
Backends alternate within each repeat, so a shared machine's noise falls on
all of them alike; figures are medians over repeats.

Workloads: *memories*, 4,096 texts with token lengths exp(N(0,1)*0.7 + ln 40)
clamped to 8..512 (seed 1); *documents*, 1,024 texts of 128..1,024 tokens.

    python benchmarks/embed_throughput.py --device cpu --quick     # 96 memories, 4 documents: < 5 min on 2 cores
    python benchmarks/embed_throughput.py --device cuda            # full workloads, 0.6B
    python benchmarks/embed_throughput.py --device cuda --size 8B --workloads documents

The last line printed is one JSON object: ``{"device", "size", "results": [...]}``.
The exit status is 1 when a backend's vectors disagree with the peer's beyond
tolerance (1e-5 in float32; cosine 0.999 in half precision).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from tokenizers import Tokenizer

from agent_memory.embeddings import SentenceTransformerEmbedder, TransformersEmbedder
from agent_memory.embeddings._base import BaseEmbedder
from agent_memory.testing import build_qwen3_embedding_architecture, build_tiny_qwen3_embedding

PEER = "sentence-transformers"
QUICK_COUNTS = {"memories": 96, "documents": 4}


def memory_lengths(count: int = 4096, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    lengths = np.exp(rng.standard_normal(count) * 0.7 + math.log(40))
    return [int(n) for n in np.clip(lengths, 8, 512)]


def document_lengths(count: int = 1024, seed: int = 1) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(n) for n in rng.integers(128, 1025, size=count)]


WORKLOADS: dict[str, Callable[[], list[int]]] = {"memories": memory_lengths, "documents": document_lengths}


def single_token_words(model_dir: Path) -> list[str]:
    """Words that are one token each, with the space before them (byte-level BPE)."""
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    words = [t[1:] for t in tokenizer.get_vocab() if t.startswith("Ġ") and t[1:].isalpha()]
    return sorted(w for w in words if len(tokenizer.encode(" " + w, add_special_tokens=False).ids) == 1)


def texts_of_lengths(model_dir: Path, lengths: list[int], seed: int = 2) -> list[str]:
    """One text per length, each exactly that many tokens with the end-of-text token."""
    words = single_token_words(model_dir)
    rng = np.random.default_rng(seed)
    texts = ["".join(" " + words[i] for i in rng.integers(0, len(words), size=n - 1)) for n in lengths]
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    got = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    if got != lengths:
        raise RuntimeError("generated texts do not have the intended token lengths")
    return texts


def forward_flops(config: dict[str, int], lengths: list[int]) -> float:
    """Matmul FLOPs of one forward pass over texts of these lengths (causal attention)."""
    hidden, layers, heads = config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]
    kv_heads, head_dim, inner = config["num_key_value_heads"], config["head_dim"], config["intermediate_size"]
    per_token = 2 * layers * (hidden * head_dim * (2 * heads + 2 * kv_heads) + 3 * hidden * inner)
    attention = sum(2 * layers * heads * head_dim * n * (n + 1) for n in lengths)
    return float(per_token * sum(lengths) + attention)


def matmul_ceiling(device: str, dtype: torch.dtype) -> float:
    """Measured FLOP/s of a large square matmul: the denominator of MFU."""
    size = 8192 if device.startswith("cuda") else 2048
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    rates = []
    for _ in range(5):
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        rates.append(2 * size**3 / (time.perf_counter() - start))
    return max(rates[1:])


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@dataclass
class Contender:
    name: str
    embedder: BaseEmbedder
    dtype: torch.dtype
    seconds: list[float] = field(default_factory=list)
    vectors: NDArray[np.float32] | None = None


def contenders(model_dir: Path, device: str, cpu_bf16: bool) -> list[Contender]:
    half = device.startswith("cuda")
    dtype = torch.bfloat16 if half else torch.float32
    found = [
        Contender(PEER, SentenceTransformerEmbedder(str(model_dir), device=device), dtype),
        Contender("transformers", TransformersEmbedder(str(model_dir), device=device), dtype),
    ]
    if cpu_bf16 and not half:
        embedder = TransformersEmbedder(str(model_dir), device=device, dtype="bfloat16")
        found.append(Contender("transformers-bf16", embedder, torch.bfloat16))
    return found


def run_workload(runners: list[Contender], texts: list[str], repeats: int, device: str) -> None:
    for runner in runners:
        runner.seconds.clear()
        runner.embedder.encode(texts[:8])  # load the model and warm up its kernels
    for _ in range(repeats):
        for runner in runners:
            _sync(device)
            start = time.perf_counter()
            runner.vectors = runner.embedder.encode(texts)
            _sync(device)
            runner.seconds.append(time.perf_counter() - start)


def report_rows(
    workload: str, runners: list[Contender], lengths: list[int], flops: float, ceilings: dict[torch.dtype, float]
) -> list[dict[str, object]]:
    peer = runners[0]
    assert peer.vectors is not None
    peer_time = statistics.median(peer.seconds)
    rows = []
    for runner in runners:
        assert runner.vectors is not None
        seconds = statistics.median(runner.seconds)
        cosines = np.sum(runner.vectors * peer.vectors, axis=1)
        rows.append(
            {
                "workload": workload,
                "backend": runner.name,
                "dtype": str(runner.dtype).removeprefix("torch."),
                "tokens_per_s": round(sum(lengths) / seconds, 1),
                "texts_per_s": round(len(lengths) / seconds, 2),
                "mfu": round(flops / seconds / ceilings[runner.dtype], 4),
                "ratio_vs_sentence_transformers": round(peer_time / seconds, 3),
                "max_abs_diff": float(np.abs(runner.vectors - peer.vectors).max()),
                "min_cosine": float(cosines.min()),
                "seconds": [round(s, 3) for s in runner.seconds],
            }
        )
    return rows


def agrees(row: dict[str, object], peer_dtype: str) -> bool:
    """Same precision as the peer: equal to 1e-5 in float32, cosine 0.999 in half precision."""
    if row["dtype"] != peer_dtype:
        return True  # a different precision is reported, not judged (bf16 against fp32)
    if row["dtype"] == "float32":
        return float(str(row["max_abs_diff"])) <= 1e-5
    return float(str(row["min_cosine"])) >= 0.999


def build_model(size: str, device: str, directory: Path) -> Path:
    if size == "tiny":
        return build_tiny_qwen3_embedding(directory)
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    return build_qwen3_embedding_architecture(directory, size, dtype=dtype, device=device)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--size", default="0.6B", choices=["tiny", "0.6B", "4B", "8B"])
    parser.add_argument("--workloads", default="memories,documents")
    parser.add_argument("--quick", action="store_true", help="96 memories and 4 documents, one repeat")
    parser.add_argument("--texts", type=int, help="texts per workload (default: all, or the quick counts)")
    parser.add_argument("--repeats", type=int, help="timed runs per backend (default 3, quick 1)")
    parser.add_argument("--no-cpu-bf16", action="store_true", help="skip the bfloat16 run of our backend on CPU")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model(args.size, args.device, Path(tmp) / "model")
        config = json.loads((model_dir / "config.json").read_text())
        runners = contenders(model_dir, args.device, cpu_bf16=not args.no_cpu_bf16)
        ceilings = {dtype: matmul_ceiling(args.device, dtype) for dtype in {r.dtype for r in runners}}
        results: list[dict[str, object]] = []
        for workload in args.workloads.split(","):
            count = args.texts or (QUICK_COUNTS[workload] if args.quick else None)
            lengths = WORKLOADS[workload]()[:count]
            run_workload(runners, texts_of_lengths(model_dir, lengths), repeats, args.device)
            results += report_rows(workload, runners, lengths, forward_flops(config, lengths), ceilings)
    print_table(results)
    device = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else cpu_name()
    print(json.dumps({"device": device, "size": args.size, "threads": torch.get_num_threads(), "results": results}))
    peer_dtype = str(runners[0].dtype).removeprefix("torch.")
    return 0 if all(agrees(row, peer_dtype) for row in results) else 1


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"cpu: {line.split(':', 1)[1].strip()}, {torch.get_num_threads()} threads"
    except OSError:
        pass
    return "cpu"


def print_table(results: list[dict[str, object]]) -> None:
    print(f"{'workload':<10} {'backend':<22} {'dtype':<9} {'tok/s':>10} {'texts/s':>9} {'MFU':>7} {'ratio':>7} diff")
    for r in results:
        print(
            f"{r['workload']!s:<10} {r['backend']!s:<22} {r['dtype']!s:<9} {r['tokens_per_s']!s:>10} "
            f"{r['texts_per_s']!s:>9} {r['mfu']!s:>7} {r['ratio_vs_sentence_transformers']!s:>6}x "
            f"{float(str(r['max_abs_diff'])):.1e} (min cos {float(str(r['min_cosine'])):.5f})",
            file=sys.stderr,
        )


if __name__ == "__main__":
    sys.exit(main())
