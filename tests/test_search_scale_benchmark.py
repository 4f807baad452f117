"""benchmarks/search_scale.py runs on tiny sizes, one subprocess per size, and ends with its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
MODES = {"floor", "dense", "hybrid", "dense_after_write", "hybrid_after_write"}
RATIOS = {"hybrid_vs_dense_p50", "hybrid_after_write_vs_dense_after_write_p50", "hybrid_vs_dense_p95"}


def _run(script: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


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
        assert set(p50) == set(p95) == MODES and set(ratios) == RATIOS
        assert all(p50[m] > 0 and p95[m] >= p50[m] for m in MODES)
        assert all(value > 0 for value in ratios.values())
        assert int(str(row["memories_at_end"])) > int(str(row["memories"]))  # the after-write steps stored memories
