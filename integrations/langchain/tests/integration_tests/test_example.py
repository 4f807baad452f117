"""examples/langchain_agent.py runs offline with the fake chat model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "langchain_agent.py"


def test_langchain_agent_example(minilm: str) -> None:
    env = {**os.environ, "AGENT_MEMORY_MODEL": minilm, "HF_HUB_OFFLINE": "1"}
    env.pop("AGENT_MEMORY_CHAT_MODEL", None)
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    second_turn = result.stdout.split("user: How do I like my coffee?")[1]
    assert "Alice likes her coffee black, no sugar" in second_turn  # recalled in a new conversation
    assert "alice's memories: ['Alice likes her coffee black, no sugar']" in result.stdout
