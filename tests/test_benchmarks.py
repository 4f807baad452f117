"""The benchmark scripts run, on tiny sizes, and end with their JSON line."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent_memory import LLMExtractor
from agent_memory.testing import ScriptedLLM

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCALE_MODES = {"floor", "dense", "fusion", "hubness", "content", "subject", "hybrid", "dense_after_write",
               "hybrid_after_write"}  # fmt: skip
SCALE_RATIOS = {"hybrid_vs_dense_p50", "hybrid_after_write_vs_dense_after_write_p50", "hybrid_vs_dense_p95",
                "hybrid_after_write_vs_dense_after_write_p95", "fusion_vs_dense_p50"}  # fmt: skip


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


def test_search_scale_runs_and_reports_every_mode() -> None:
    args = ["--sizes", "300", "120", "--other-users", "2", "--other-size", "50", "--searches", "10", "--dim", "32"]
    report = _run("search_scale.py", *args)
    assert report["benchmark"] == "search_scale"
    assert (report["dim"], report["other_users"]) == (32, 2)
    rows: list[dict[str, object]] = report["results"]  # type: ignore[assignment]
    assert [r["memories"] for r in rows] == [300, 120]
    for row in rows:
        assert float(str(row["ingest_per_s"])) > 0 and float(str(row["peak_rss_mib"])) > 0
        p50: dict[str, float] = row["p50_ms"]  # type: ignore[assignment]
        p95: dict[str, float] = row["p95_ms"]  # type: ignore[assignment]
        ratios: dict[str, float] = row["ratios"]  # type: ignore[assignment]
        assert set(p50) == set(p95) == SCALE_MODES and set(ratios) == SCALE_RATIOS
        assert all(p50[m] > 0 and p95[m] >= p50[m] for m in SCALE_MODES)
        assert all(value > 0 for value in ratios.values())
        assert int(str(row["memories_at_end"])) > int(str(row["memories"]))  # the after-write steps stored memories


def test_ingest_compares_against_langchain_chroma(minilm: str) -> None:
    report = _run("ingest.py", "--model", minilm, "--batch", "20", "--single", "3", "--runs", "1")
    assert report["benchmark"] == "ingest" and report["texts"] == {"batch": 20, "single": 3}
    for way in ("batch", "single"):
        (rates,) = [run[way] for run in report["runs"]]  # type: ignore[attr-defined]
        assert rates["agent_memory"] > 0 and rates["langchain_chroma"] > 0
        assert report[way]["median_ratio"] == rates["agent_memory"] / rates["langchain_chroma"]  # type: ignore[index]


@pytest.mark.parametrize("model", [False, True], ids=["hash-embedder", "serve-workers-2"])
def test_serve_load_compares_the_service_with_the_python_api(model: bool, minilm: str) -> None:
    options = ["--model", minilm, "--workers", "2", "--seconds", "6"] if model else ["--seconds", "2"]
    report = _run("serve_load.py", "--clients", "2", *options)
    assert report["benchmark"] == "serve_load" and report["workers"] == (2 if model else 1)
    sides: list[dict[str, Any]] = report["results"]  # type: ignore[assignment]
    assert [s["side"] for s in sides] == ["service", "python-api"]
    for side in sides:
        assert side["errors"] == 0 and side["counts_exact"] is True, side["first_errors"]
        assert side["ops_per_s"] > 0 and side["ops"]["search"]["p99"] >= side["ops"]["search"]["p50"] > 0


def test_async_throughput_compares_the_pool_with_to_thread() -> None:
    args = ["--concurrency", "4", "--seconds", "0.5", "--rounds", "1", "--users", "2", "--memories", "40"]
    report = _run("async_throughput.py", *args)
    results: dict[str, dict[str, float]] = report["results"]  # type: ignore[assignment]
    assert set(results) == {"async", "to_thread"} and float(str(report["ratio"])) > 0
    assert all(r["searches_per_s"] > 0 and r["lag_p99_ms"] >= r["lag_p50_ms"] >= 0 for r in results.values())


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


def test_default_search_beats_dense_on_the_projects_fact_stores() -> None:
    """Quality cannot regress silently: the project's own small fact stores (both splits), MiniLM.
    The LoCoMo checks run as a step of .ci/run (the data is not in the repository)."""
    report = _run("search_quality.py", "--shapes", "facts")
    for split, row in report["shapes"]["facts"].items():  # type: ignore[index]
        systems = row["systems"]
        default, dense, bm25 = systems["default"], systems["dense"], systems["bm25"]
        assert default["hit@1"] >= dense["hit@1"], split
        assert default["hit@3"] >= dense["hit@3"], split
        assert default["hit@1"] > bm25["hit@1"], split
        chinese = row["chinese_shared_word"]  # the tokenizer finds Chinese words inside clauses
        assert chinese["questions"] >= 5 and chinese["bm25_hit@1"] >= 0.5, split
    assert sum(row["questions"] for row in report["shapes"]["facts"].values()) >= 60  # type: ignore[union-attr]


def _locomo_module() -> Any:
    spec = importlib.util.spec_from_file_location("locomo_recall", BENCHMARKS / "locomo_recall.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["locomo_recall"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_locomo_extractor_mode_tracks_each_memorys_source_turns(minilm: str, tmp_path: Path) -> None:
    """The --extractor path with a scripted LLM: facts keep the turns they came from, and a
    result finds the evidence among its memory's turns."""
    locomo = _locomo_module()
    turns = [
        locomo.Turn("D1:1", "Caroline: I adopted a dog named Rex.", "session_1", "1:56 pm on 8 May, 2023"),
        locomo.Turn("D1:2", "Mel: How lovely!", "session_1", "1:56 pm on 8 May, 2023"),
        locomo.Turn("D2:1", "Caroline: Rex is a beagle.", "session_2", "2:00 pm on 9 May, 2023"),
    ]
    conversation = locomo.Conversation("conv", turns, [locomo.Question("What dog?", frozenset({"D2:1"}), 1)])
    script = ScriptedLLM(
        [
            {"facts": ["Caroline has a dog named Rex"]},
            {"facts": []},
            {"facts": ["Caroline's dog Rex is a beagle"]},
            {"decisions": [{"fact": "1", "action": "update", "id": "1.1", "text": "Caroline has a beagle named Rex"}]},
        ]
    )
    memory, system, events, seconds = locomo.extracted_system(
        minilm, [conversation], str(tmp_path / "turn"), LLMExtractor(script), "turn"
    )
    with memory:
        assert [m.text for m in memory.list_memories(user_id="conv")] == ["Caroline has a beagle named Rex"]
        assert system.search(conversation, "What kind of dog does Caroline have?") == [frozenset({"D1:1", "D2:1"})]
    assert dict(events) == {"added": 1, "updated": 1, "with a problem": 0} and len(seconds) == 3
    assert "[2023-05-08 (Monday) 13:56] user: Caroline: I adopted a dog named Rex." in script.prompts[0][-1]["content"]
    # A session a call (the default): a fact's source is the message the model names.
    by_session = ScriptedLLM(
        [
            {"facts": [{"text": "Caroline has a dog named Rex", "message": 1}]},
            {"facts": [{"text": "Caroline's dog Rex is a beagle", "message": 1}]},
            {"decisions": [{"fact": "1", "action": "update", "id": "1.1", "text": "Caroline has a beagle named Rex"}]},
        ]
    )
    memory, system, events, seconds = locomo.extracted_system(
        minilm, [conversation], str(tmp_path / "session"), LLMExtractor(by_session)
    )
    with memory:
        assert system.search(conversation, "What kind of dog does Caroline have?") == [frozenset({"D1:1", "D2:1"})]
    assert dict(events) == {"added": 1, "updated": 1, "with a problem": 0} and len(seconds) == 2
    assert "(2) [2023-05-08 (Monday) 13:56] user: Mel: How lovely!" in by_session.prompts[0][-1]["content"]
    # An answer that cannot be read is counted, and the run goes on.
    broken = ScriptedLLM(["{not json", {"facts": [{"text": "Caroline's dog Rex is a beagle", "message": 1}]}])
    memory, _, events, _ = locomo.extracted_system(
        minilm, [conversation], str(tmp_path / "broken"), LLMExtractor(broken)
    )
    with memory:
        assert [m.text for m in memory.list_memories(user_id="conv")] == ["Caroline's dog Rex is a beagle"]
    assert events["extraction failed"] == 1 and events["added"] == 1
    single = locomo.score([frozenset({"D1:1", "D2:1"})], frozenset({"D2:1"}))
    assert single == {"recall@5": 1.0, "recall@10": 1.0, "hit@10": 1.0, "mrr": 1.0, "ndcg@10": 1.0}
    repeated = locomo.score([frozenset({"x"}), frozenset({"D2:1"}), frozenset({"D2:1"})], frozenset({"D2:1", "y"}))
    assert repeated["recall@10"] == 0.5 and repeated["mrr"] == 0.5 and repeated["ndcg@10"] < 0.5


def test_temporal_benchmark_keeps_the_past_that_overwriting_loses(minilm: str) -> None:
    """A few users of the project's knowledge-update set: superseded facts answer past-state
    questions that overwritten ones cannot, and a span named in the query finds what happened in it."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "temporal.py"), "--model", minilm, "--users", "3"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    rows = {(r["store"], r["half"]): r for r in lines}
    assert set(rows) == {(s, h) for s in ("overwrite", "supersede") for h in ("tune", "report")}
    for half in ("tune", "report"):
        old, new = rows[("overwrite", half)], rows[("supersede", half)]
        assert new["users"] == 3 and new["missed_targets"] == 0
        assert new["past_top1_as_of"] > old["past_top1"] and new["past_top1_time_aware"] > old["past_top1"]
        assert new["current_top1"] >= old["current_top1"]
        assert new["scoped_hit5_time_aware"] >= new["scoped_hit5"]
