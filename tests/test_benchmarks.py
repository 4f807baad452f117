"""The benchmark scripts run, on tiny sizes, and end with their JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_store_overhead_runs() -> None:
    report = _run("store_overhead.py", "--sizes", "400", "--users", "4", "--searches", "20", "--dim", "32")
    (row,) = report["results"]  # type: ignore[misc]
    assert row["memories"] == 400 and row["ingest_ratio"] > 0 and row["search_p50_ratio"] > 0


def test_load_runs_with_no_errors_and_exact_counts() -> None:
    report = _run("load.py", "--workers", "2", "--seconds", "1")
    rows = report["results"]
    assert [r["mode"] for r in rows] == ["embedded", "server"]  # type: ignore[union-attr]
    assert all(r["errors"] == 0 and r["counts_exact"] is True for r in rows)  # type: ignore[union-attr]


def test_embed_throughput_compares_against_sentence_transformers_and_agrees() -> None:
    report = _run("embed_throughput.py", "--device", "cpu", "--size", "tiny", "--texts", "12", "--repeats", "1")
    assert report["size"] == "tiny"
    rows = report["results"]
    assert [(r["workload"], r["backend"]) for r in rows] == [  # type: ignore[union-attr]
        (workload, backend)
        for workload in ("memories", "documents")
        for backend in ("sentence-transformers", "transformers", "transformers-bf16")
    ]
    for row in rows:  # type: ignore[union-attr]
        assert row["tokens_per_s"] > 0 and row["ratio_vs_sentence_transformers"] > 0
        assert row["max_abs_diff"] <= (1e-5 if row["dtype"] == "float32" else 0.05)


LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo"


def test_locomo_hybrid_search_beats_bm25_and_plain_vector_search() -> None:
    """Quality cannot regress silently: two LoCoMo conversations, all-MiniLM-L6-v2, every system in one run."""
    report = _run("locomo_recall.py", "--data", str(LOCOMO), "--conversations", "2")
    assert (report["conversations"], report["questions"]) == (2, 231)
    systems: dict[str, dict[str, object]] = report["systems"]  # type: ignore[assignment]
    recall = {name: float(str(row["recall@10"])) for name, row in systems.items()}
    assert recall["agent-memory"] >= 0.70  # measured 0.729
    assert recall["agent-memory"] >= recall["bm25"] + 0.03
    assert recall["agent-memory"] >= recall["langchain-chroma"] + 0.12
    assert abs(recall["agent-memory-dense"] - recall["langchain-chroma"]) <= 0.02  # same model, same turns
    for category, row in systems["agent-memory"]["by_category"].items():  # type: ignore[union-attr]
        baselines = [systems[b]["by_category"][category]["recall@10"] for b in ("bm25", "langchain-chroma")]  # type: ignore[index]
        assert row["recall@10"] >= max(baselines) - 0.01, category
    ours = systems["agent-memory"]
    assert float(str(ours["p95_ms"])) > 0 and float(str(ours["mrr"])) > float(str(systems["bm25"]["mrr"]))
