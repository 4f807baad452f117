"""The examples run offline, as a user would run them, with AGENT_MEMORY_MODEL set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run_example(name: str, model: str) -> str:
    env = {**os.environ, "AGENT_MEMORY_MODEL": model, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart(minilm: str) -> None:
    out = _run_example("quickstart.py", minilm)
    alice = out.split("bob:")[0]
    assert alice.splitlines()[1].endswith("Alice likes coffee")
    assert "Bob prefers green tea" in out.split("bob:")[1]


@pytest.mark.parametrize("model", ["minilm", "tiny_qwen3"])
def test_qa_matching(model: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(model)
    out = _run_example("qa_matching.py", path)
    assert f"instruction-aware: {model == 'tiny_qwen3'}" in out
    if model == "minilm":  # real weights: each question finds its answer, in either language
        assert "-> The capital of China is Beijing." in out
        assert "-> Gravity is a force" in out
        assert "-> 北京是中国的首都。" in out


def test_remember_conversation(minilm: str) -> None:
    out = _run_example("remember_conversation.py", minilm)
    assert "updated   'Alice lives in Paris' -> 'Alice lives in Berlin (moved from Paris around 2024-05-01)'" in out
    assert "unchanged Alice has a dog" in out and "added     爱丽丝将于2024-05-17去罗马" in out
    memories = out.split("alice's memories:")[1]
    assert "was 'Alice lives in Paris' (update by agent:remember)" in memories
    assert "problem" not in out
    assert "LLM calls: 5" in out  # three extractions, one batched decision per conversation that needed one
